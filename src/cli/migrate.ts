import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { helpAsked, runMain } from './run-main';

/** `npm run migrate`: the schema brought up to date, run as the role that owns it (workers need no DDL rights). */
const USAGE = `usage: npm run migrate   (login-etl migrate)

Brings the schema of DATABASE_URL up to date and keeps the monthly partitions of user_logins: converts an
unpartitioned table online (in batches, loads go on), creates the partitions of this month and three ahead, moves
rows out of the default partition. Run it as the role that owns the schema, before the workers
of a release start, and again any time; the migrations are idempotent. See docs/data.md, Partitions.`;

runMain(async () => {
  if (helpAsked(USAGE)) return 0;
  const pool = createPool(loadConfig(), 1);
  try {
    const applied = await migrate(pool);
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'the schema is up to date\n');
  } finally {
    await pool.end();
  }
});
