import { MockActivityEnvironment } from '@temporalio/testing';

/** Runs one activity outside a workflow (as a consumer outside Temporal would), with its types kept. */
export function runActivity<A, R>(activity: (input: A) => Promise<R>, input: A): Promise<R> {
  return new MockActivityEnvironment().run<[A], R, typeof activity>(activity, input);
}
