import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config';
import type { Client } from '@temporalio/client';
import { drainWorkflowIds } from '../drain';
import {
  createDrainSchedule,
  createRetentionSchedule,
  describeSchedule,
  retentionScheduleId,
  scheduleIdOf,
} from '../schedules';
import { loadClientKeys } from '../secrets';
import { connectClient } from '../temporal/connect-client';
import { DRAINS_OPTION, HELP_OPTION, oneOrMany, runMain, subcommand, wholeNumber } from './run-main';

const USAGE = `usage: npm run schedule -- <command> [--drains N | --id ID]
  create (--every 5m | --cron "*/5 * * * *") [--batch-size N] [--concurrency N] [--max-messages-per-second R] [--run-timeout 1h]
          a schedule that starts an until-empty drain at each tick (overlap: skip; catch-up window: 10 minutes;
          each run ends by its run timeout, 1 hour by default, so a stuck run cannot block later ticks)
  create-retention --keep-days N (--every 1d | --cron "0 3 * * *")
          a schedule of retention runs (npm run retention as a workflow, audited as the schedule), id
          retention-<queue name>-schedule; a maintenance worker runs them: npm run worker -- --maintenance, with
          the schema owner's DATABASE_URL (overlap: skip; run timeout 4 hours)
  list | describe | pause [--note TEXT] | unpause | trigger | delete
The id defaults to drain-<queue name>-schedule; --drains N acts on N schedules, drain-<queue name>-1-schedule …
-N-schedule, each starting its own drain of the queue. For the retention schedule: --id retention-<queue name>-schedule.`;

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      ...DRAINS_OPTION,
      every: { type: 'string' },
      cron: { type: 'string' },
      note: { type: 'string' },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      'max-messages-per-second': { type: 'string' },
      'run-timeout': { type: 'string' },
      'keep-days': { type: 'string' },
      ...HELP_OPTION,
    },
  });
  const command = subcommand(USAGE, { values, positionals });
  if (typeof command === 'number') return command;
  const config = loadConfig();
  const client = await connectClient(config, await loadClientKeys(config));
  const scheduleIds = oneOrMany('id', values.id, values.drains, (drains) =>
    drainWorkflowIds(config, drains).map(scheduleIdOf),
  );
  try {
    if (command === 'create-retention') {
      const keepDays = wholeNumber('keep-days', values['keep-days']);
      if (keepDays === undefined || keepDays < 1) throw new Error('--keep-days N is required: 1 or more');
      const scheduleId = values.id ?? retentionScheduleId(config);
      await createRetentionSchedule(client, config, { scheduleId, every: values.every, cron: values.cron, keepDays });
      const description = await client.schedule.getHandle(scheduleId).describe();
      process.stdout.write(`created ${describeSchedule(description)}\n`);
      return 0;
    }
    if (command === 'list') {
      for await (const schedule of client.schedule.list()) {
        process.stdout.write(`${schedule.scheduleId}${schedule.state.paused ? ' (paused)' : ''}\n`);
      }
      return 0;
    }
    for (const scheduleId of scheduleIds) await runScheduleCommand(client, config, command, scheduleId, values);
    return 0;
  } finally {
    await client.connection.close();
  }
});

async function runScheduleCommand(
  client: Client,
  config: Config,
  command: string,
  scheduleId: string,
  values: {
    every?: string;
    cron?: string;
    note?: string;
    'batch-size'?: string;
    concurrency?: string;
    'max-messages-per-second'?: string;
    'run-timeout'?: string;
  },
): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  switch (command) {
    case 'create':
      await createDrainSchedule(client, config, {
        scheduleId,
        every: values.every,
        cron: values.cron,
        runTimeout: values['run-timeout'],
        options: {
          batchSize: wholeNumber('batch-size', values['batch-size']),
          concurrency: wholeNumber('concurrency', values.concurrency),
          maxMessagesPerSecond: wholeNumber('max-messages-per-second', values['max-messages-per-second']),
        },
      });
      process.stdout.write(`created ${describeSchedule(await handle.describe())}\n`);
      return;
    case 'describe':
      process.stdout.write(`${describeSchedule(await handle.describe())}\n`);
      return;
    case 'pause':
      await handle.pause(values.note ?? 'paused from npm run schedule');
      break;
    case 'unpause':
      await handle.unpause(values.note ?? 'unpaused from npm run schedule');
      break;
    case 'trigger':
      await handle.trigger();
      break;
    case 'delete':
      await handle.delete();
      process.stdout.write(`deleted schedule ${scheduleId}\n`);
      return;
    default:
      throw new Error(`unknown command ${command}; see npm run schedule -- --help`);
  }
  process.stdout.write(`${command}: done\n${describeSchedule(await handle.describe())}\n`);
}
