import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Client } from 'pg';
import { createLogger } from '../../src/log';
import { startEmbeddedPostgres } from '../../src/stack/embedded-postgres';
import { sharedDataDir } from '../../src/stack/postgres-placement';
import { freePort } from '../../src/stack/readiness';

const asRoot = process.getuid?.() === 0;

describe('the local stack from a clone in a private directory', () => {
  it(
    'runs the embedded Postgres as the postgres user, its data where that user can reach it',
    { skip: asRoot ? false : 'only root runs Postgres as another user (as a user, the clone is its own)' },
    async () => {
      // mkdtemp makes a 0700 directory: only root may enter it, as under /root or a CI runner's workspace.
      const clone = mkdtempSync(path.join(tmpdir(), 'login-etl-private-'));
      const dataDir = path.join(clone, '.data', 'postgres');
      const lines: string[] = [];
      const log = createLogger('postgres', (line) => lines.push(line));
      const postgres = await startEmbeddedPostgres({ port: await freePort(), dataDir, log });
      try {
        assert.equal(postgres.dataDir, sharedDataDir(dataDir));
        assert.ok(
          lines.some((line) => line.includes(`cannot reach ${dataDir}: its data is kept in ${postgres.dataDir}`)),
          'one line says where the data went',
        );
        const client = new Client({ connectionString: postgres.url });
        await client.connect();
        const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
        assert.equal(rows[0]!.user, 'postgres');
        await client.end();
      } finally {
        await postgres.stop();
        rmSync(path.dirname(postgres.dataDir), { recursive: true, force: true });
        rmSync(clone, { recursive: true, force: true });
      }
    },
  );
});
