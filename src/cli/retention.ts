import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { applyRetention } from '../pii/retention';
import { HELP_OPTION, runMain, wholeNumber } from './run-main';

const USAGE = `usage: npm run retention -- --keep-days N [--dry-run] [--json] [--actor NAME]   (login-etl retention)

Removes the logins of months wholly older than N days (create_date before the first day of the month N days ago)
and the quarantine records as old: a month's partition of logins is dropped whole, other rows deleted in chunks
of 10,000; then crypto-shreds the vault values no remaining login uses; every run writes an audit row.
--dry-run counts what would go. --json: the last stdout line is one JSON object. Run it as the role that owns the
schema: from cron, or as a Temporal Schedule (npm run schedule -- create-retention, run by
npm run worker -- --maintenance).`;

runMain(async () => {
  const { values } = parseArgs({
    options: {
      'keep-days': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      actor: { type: 'string' },
      ...HELP_OPTION,
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const keepDays = wholeNumber('keep-days', values['keep-days']);
  if (keepDays === undefined || keepDays < 1)
    throw new Error('--keep-days N is required: a whole number of days, 1 or more');
  const config = loadConfig();
  const pool = createPool(config, 2);
  try {
    await migrate(pool);
    const report = await applyRetention(pool, {
      keepDays,
      dryRun: values['dry-run'] ?? false,
      actor: values.actor ?? config.PII_OPERATOR ?? userInfo().username,
    });
    const verb = report.dryRun ? 'would remove' : 'removed';
    process.stdout.write(
      values.json
        ? `${JSON.stringify(report)}\n`
        : `${verb} ${report.logins} logins and ${report.quarantineRecords} quarantine records from before ` +
            `${report.cutoff} (${report.partitionsDropped.length} monthly partitions ${report.dryRun ? 'to drop' : 'dropped'} whole); ${report.dryRun ? 'would shred' : 'shredded'} ${report.vaultValues} vault values no ` +
            `remaining login uses${report.auditId === null ? '' : ` (audit #${report.auditId})`}\n`,
    );
    return 0;
  } finally {
    await pool.end();
  }
});
