import path from 'node:path';
import type { Logger } from '../log';
import { serverEnv, startManagedProcess } from './managed-process';
import { waitUntil } from './readiness';

export interface RunningSqsEmulator {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * fauxqs on a fixed port, in its own process so that it can be stopped and restarted like a real server; with
 * `stateFile`, its queues and messages survive the restart.
 */
export async function startSqsEmulator(options: {
  port: number;
  log: Logger;
  stateFile?: string;
}): Promise<RunningSqsEmulator> {
  const endpoint = `http://localhost:${options.port}`;
  const emulator = startManagedProcess(process.execPath, [path.join(__dirname, 'sqs-emulator-main.mjs')], {
    log: options.log,
    env: serverEnv({
      FAUXQS_PORT: String(options.port),
      ...(options.stateFile ? { FAUXQS_STATE_FILE: options.stateFile } : {}),
    }),
  });
  try {
    await waitUntil('SQS emulator', async () => (await fetch(`${endpoint}/health`)).ok, { abort: emulator.exited });
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  return { endpoint, stop: () => emulator.stop() };
}
