import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createKeyVersionCache } from '../../src/pii/key-state';
import { freePort } from '../../src/stack/readiness';
import { createTestDatabase } from '../helpers/pipeline';

describe('the key version cache of masking', () => {
  it('answers with the last version it knew while Postgres is unreachable, so masking needs no database', async () => {
    // A port nothing listens on: every query fails at once, as during an outage.
    const unreachable = createPool({ databaseUrl: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/x` }, 1);
    try {
      const cache = createKeyVersionCache(unreachable, 3, 0);
      assert.equal(await cache.current(), 3);
      cache.observe(4);
      assert.equal(await cache.current(), 4);
      await assert.rejects(
        createKeyVersionCache(unreachable, undefined, 0).current(),
        'with nothing known, it must ask',
      );
    } finally {
      await unreachable.end();
    }
  });

  it('picks up a new active version from the database', async () => {
    const pool = createPool({ databaseUrl: await createTestDatabase('key-version') }, 1);
    try {
      await migrate(pool);
      const cache = createKeyVersionCache(pool, 1, 0);
      await pool.query('UPDATE pii_key_state SET active_version = 2');
      assert.equal(await cache.current(), 2);
    } finally {
      await pool.end();
    }
  });
});
