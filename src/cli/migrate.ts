import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { runMain } from './run-main';

/** `npm run migrate`: the schema brought up to date, run as the role that owns it (workers need no DDL rights). */
runMain(async () => {
  const pool = createPool(loadConfig(), 1);
  try {
    const applied = await migrate(pool);
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'the schema is up to date\n');
  } finally {
    await pool.end();
  }
});
