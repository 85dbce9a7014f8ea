import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { DrainControl, DrainStats } from './drain-options';

/**
 * Search attributes of a drain, so runs can be filtered and compared in the Web UI (e.g.
 * `LoginEtlQuarantined > 0`). They hold counts, the queue's name and the drain's state, never message content.
 * Three Int attributes: the most a namespace with SQL visibility (the dev server's SQLite, Postgres, MySQL) allows.
 */
export const DRAIN_SEARCH_ATTRIBUTES = {
  queue: defineSearchAttributeKey('LoginEtlQueue', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('LoginEtlState', SearchAttributeType.KEYWORD),
  received: defineSearchAttributeKey('LoginEtlReceived', SearchAttributeType.INT),
  loaded: defineSearchAttributeKey('LoginEtlLoaded', SearchAttributeType.INT),
  quarantined: defineSearchAttributeKey('LoginEtlQuarantined', SearchAttributeType.INT),
} as const;

export type DrainState = 'running' | 'paused' | 'stopping' | 'stopped' | 'drained' | 'failed';

/** The state of a running drain, as its search attribute, `npm run control -- status` and the docs name it. */
export const drainState = (control: DrainControl): DrainState =>
  control.stopping ? 'stopping' : control.paused ? 'paused' : 'running';

/** The upsert that publishes a drain's totals and state; pure, so the workflow can compare it with the last one. */
export function drainSearchAttributeUpdate(stats: DrainStats, state: DrainState): SearchAttributeUpdatePair[] {
  const keys = DRAIN_SEARCH_ATTRIBUTES;
  return [
    { key: keys.state, value: state },
    { key: keys.received, value: stats.received },
    { key: keys.loaded, value: stats.loaded },
    { key: keys.quarantined, value: stats.quarantined },
  ];
}
