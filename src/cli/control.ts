import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { drainWorkflowIds } from '../drain';
import { loadClientKeys } from '../secrets';
import { connectClient } from '../temporal/connect-client';
import { controlQuery, pauseSignal, resumeSignal, statsQuery, stopSignal } from '../workflows';
import { statsSentence } from '../workflows/drain-options';
import { drainState } from '../workflows/search-attributes';
import { DRAINS_OPTION, HELP_OPTION, oneOrMany, runMain, subcommand } from './run-main';

const USAGE = `usage: npm run control -- <pause | resume | stop | status> [--drains N | --workflow-id ID]
  pause   no new batch starts; the batches in flight finish
  resume  batches start again
  stop    the batches in flight finish, then the drain completes with its totals
  status  the drain's totals and whether it is paused or stopping
The workflow id defaults to drain-<queue name>, the id start-workflow uses; --drains N acts on the N drains
that start-workflow --drains N started (drain-<queue name>-1 … -N).`;

const SIGNALS = { pause: pauseSignal, resume: resumeSignal, stop: stopSignal } as const;

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'workflow-id': { type: 'string' }, ...DRAINS_OPTION, ...HELP_OPTION },
  });
  const command = subcommand(USAGE, { values, positionals });
  if (typeof command === 'number') return command;
  if (command !== 'status' && !(command in SIGNALS)) throw new Error(`unknown command ${command}; see --help`);
  const config = loadConfig();
  const client = await connectClient(config, await loadClientKeys(config));
  try {
    const workflowIds = oneOrMany('workflow-id', values['workflow-id'], values.drains, (drains) =>
      drainWorkflowIds(config, drains),
    );
    for (const workflowId of workflowIds) {
      const handle = client.workflow.getHandle(workflowId);
      if (command !== 'status') await handle.signal(SIGNALS[command as keyof typeof SIGNALS]);
      const [control, stats, { status }] = await Promise.all([
        handle.query(controlQuery),
        handle.query(statsQuery),
        handle.describe(),
      ]);
      // A drain that has ended says how (completed, failed, terminated …); a running one, what it is doing.
      const state = status.name === 'RUNNING' ? drainState(control) : status.name.toLowerCase();
      process.stdout.write(`${handle.workflowId}: ${state}; ${statsSentence(stats)}\n`);
    }
    return 0;
  } finally {
    await client.connection.close();
  }
});
