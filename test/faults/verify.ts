import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import type { OpeningKeys } from '../../src/core/vault';
import { openQuarantineBody } from '../../src/core/quarantine-record';
import { validateLoginMessage } from '../../src/core/validate-message';
import { getQueueDepth, type QueueDepth } from '../../src/sqs';

/** What the bodies sent should become: one row per valid event (by user_id), one record per other body. */
export interface Expected {
  rows: Set<string>;
  /** Bodies expected as quarantine records, with how many times each was sent. */
  quarantined: Map<string, number>;
  /** Valid events a database rule refuses: quarantined, their record holding the row, found by user_id. */
  refusedRows: Set<string>;
  rawValues: Set<string>;
}

export function expectedOutcome(bodies: string[], refuses: (userId: string) => boolean = () => false): Expected {
  const expected: Expected = { rows: new Set(), quarantined: new Map(), refusedRows: new Set(), rawValues: new Set() };
  for (const body of bodies) {
    const result = validateLoginMessage(body);
    if (result.ok) {
      (refuses(result.event.user_id) ? expected.refusedRows : expected.rows).add(result.event.user_id);
      expected.rawValues.add(result.event.ip);
      expected.rawValues.add(result.event.device_id);
    } else {
      expected.quarantined.set(body, (expected.quarantined.get(body) ?? 0) + 1);
    }
  }
  return expected;
}

export interface Outcome {
  rows: number;
  quarantined: number;
  lost: number;
  doubled: number;
  queue: QueueDepth;
  /** Messages in the dead-letter queue, and how many of them were not loaded or quarantined. */
  deadLettered: number;
  unexplainedDeadLetters: number;
  leaks: { tables: number; logs: number; history: number };
}

/**
 * Counts every message sent against what the database holds: rows by user_id, quarantine records by their
 * opened body (or, for a refused row, the user_id in it). Doubles would show as the same content under two
 * message ids, which the unique keys alone could not catch.
 */
export async function verify(inputs: {
  expected: Expected;
  pool: Pool;
  keys: OpeningKeys;
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  logs: string;
  history: string;
}): Promise<Outcome> {
  const { expected, pool } = inputs;
  const { rows } = await pool.query<{ user_id: string; n: number }>(
    'SELECT user_id, count(*)::int AS n FROM user_logins GROUP BY user_id',
  );
  const loaded = new Map(rows.map((row) => [row.user_id, row.n]));
  let lost = 0;
  let doubled = 0;
  for (const userId of expected.rows) {
    const n = loaded.get(userId) ?? 0;
    if (n === 0) lost++;
    doubled += Math.max(0, n - 1);
  }

  const records = await pool.query<{ message_id: string; body_sealed: Buffer | null; body_key_id: string | null }>(
    'SELECT message_id, body_sealed, body_key_id FROM quarantined_messages',
  );
  const remaining = new Map(expected.quarantined);
  const refusedSeen = new Map<string, number>();
  for (const record of records.rows) {
    const content = openQuarantineBody(inputs.keys, {
      ...record,
      body_sealed: record.body_sealed?.toString('base64') ?? null,
    });
    if (content === null) continue;
    const left = remaining.get(content);
    if (left !== undefined) {
      if (left === 0) doubled++;
      else remaining.set(content, left - 1);
      continue;
    }
    const userId = refusedUserId(content);
    if (userId !== undefined && expected.refusedRows.has(userId)) {
      refusedSeen.set(userId, (refusedSeen.get(userId) ?? 0) + 1);
    }
  }
  for (const left of remaining.values()) lost += left;
  for (const userId of expected.refusedRows) {
    const n = refusedSeen.get(userId) ?? 0;
    if (n === 0) lost++;
    doubled += Math.max(0, n - 1);
  }

  const deadLetters = await drainDeadLetters(inputs.sqs, inputs.dlqUrl);
  const unexplainedDeadLetters = deadLetters.filter((body) => {
    const result = validateLoginMessage(body);
    return result.ok ? !loaded.has(result.event.user_id) : !expected.quarantined.has(body);
  }).length;

  const tables = await dumpTablesButVault(pool);
  return {
    rows: rows.reduce((sum, row) => sum + row.n, 0),
    quarantined: records.rows.length,
    lost,
    doubled,
    queue: await getQueueDepth(inputs.sqs, inputs.queueUrl),
    deadLettered: deadLetters.length,
    unexplainedDeadLetters,
    leaks: {
      tables: countLeaks(tables, expected.rawValues),
      logs: countLeaks(inputs.logs, expected.rawValues),
      history: countLeaks(inputs.history, expected.rawValues),
    },
  };
}

function refusedUserId(content: string): string | undefined {
  try {
    const row = JSON.parse(content) as { user_id?: unknown; masked_ip?: unknown };
    return typeof row.user_id === 'string' && typeof row.masked_ip === 'string' ? row.user_id : undefined;
  } catch {
    return undefined;
  }
}

async function drainDeadLetters(sqs: SQSClient, dlqUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((m) => m.Body ?? ''));
  }
}

async function dumpTablesButVault(pool: Pool): Promise<string> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name <> 'pii_vault'`,
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
    parts.push(...rows.map((r) => r.row));
  }
  return parts.join('\n');
}

/**
 * Raw values in a large text, found by shape: every maximal run of the characters an IPv4 address, an IPv6
 * address or a device id is made of is looked up in the set (a substring search for tens of thousands of
 * values over megabytes would take minutes).
 */
export function countLeaks(haystack: string, values: Set<string>): number {
  const found = new Set<string>();
  for (const pattern of [/[0-9.]+/g, /[0-9-]+/g, /[0-9A-Fa-f:.]+/g, /[^\s"'<>=,;()[\]{}\\]+/g]) {
    for (const [match] of haystack.matchAll(pattern)) if (values.has(match)) found.add(match);
  }
  return found.size;
}
