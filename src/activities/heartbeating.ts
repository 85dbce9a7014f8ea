import { Context } from '@temporalio/activity';

/** Well inside the shortest heartbeat timeout the workflow gives (15 s). */
const HEARTBEAT_EVERY_MS = 3_000;

/**
 * Runs `work` while heartbeating, so a long but live step (a large load, a slow Postgres) is not timed out, and a
 * worker that died is noticed within the heartbeat timeout instead of the start-to-close timeout.
 */
export async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
