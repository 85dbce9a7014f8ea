/**
 * `npm run bench -- --load-layouts N`: the load statement's speed on three layouts of `user_logins`, side by side
 * in one run: the heap with only the key and token indexes (before migration 009), the heap with the indexes
 * analysts query by (009), and the monthly partitions (010). Each database first holds N rows spread over twelve
 * months; then N more are loaded as the worker loads them (batches of the drain's default size, 1,000, through the real statement, about 2%
 * quarantined, two vault entries a row), a batch to each layout in turn, so all three share the machine's noise.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client as PgClient, type Pool } from 'pg';
import type { LoginRow, QuarantineRecord } from '../src/core/loaded-columns';
import { loadParameters, loadStatement, type LoadWrites } from '../src/db/load-statement';
import { listMigrations, migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { DEFAULT_DRAIN_OPTIONS } from '../src/workflows/drain-options';

const LAYOUTS = {
  heapKeyOnly: { before: '009', label: 'heap, key and token indexes (before 009)' },
  heapIndexed: { before: '010', label: 'heap, + user and day indexes (009)' },
  partitioned: { before: undefined, label: 'monthly partitions, same indexes (010)' },
} as const;
type Layout = keyof typeof LAYOUTS;

/** The drain's own batch size, so the bench measures the statement a worker runs. */
const BATCH = DEFAULT_DRAIN_OPTIONS.batchSize;
const FINGERPRINT = 'bench-load-layouts';
const DAY_MS = 86_400_000;

export interface LayoutResult {
  rowsPerSec: number;
  rows: number;
  seconds: number;
  p50BatchMs: number;
  p99BatchMs: number;
}

/** Batch `index` of the rows to load: recent days, a token seen before now and then, as logins have. */
function batchOf(index: number, now: number): LoadWrites {
  const rows: LoginRow[] = [];
  const records: QuarantineRecord[] = [];
  for (let i = 0; i < BATCH; i++) {
    const n = index * BATCH + i;
    const sentAt = new Date(now - (n % 20) * 3_600_000).toISOString();
    if (n % 50 === 7) {
      records.push({
        message_id: `q-${n}`,
        reason: 'bench',
        sent_at: sentAt,
        receive_count: 1,
        body_bytes: 100,
        body_sealed: null,
        body_key_id: null,
      });
      continue;
    }
    rows.push({
      message_id: `m-${n}`,
      user_id: `user-${n % 5000}`,
      device_type: n % 2 ? 'ios' : 'android',
      masked_ip: `v1:ip-${n % 7000}`,
      masked_device_id: `v1:dev-${n % 9000}`,
      ip_valid: true,
      locale: 'RU',
      app_version: 230,
      app_version_text: '2.3.0',
      create_date: sentAt.slice(0, 10),
      sent_at: sentAt,
      sent_at_source: 'sqs',
    });
  }
  const sealed = randomBytes(60).toString('base64');
  const vault = rows.flatMap((row) =>
    (['ip', 'device_id'] as const).map((field) => ({
      field,
      token: field === 'ip' ? row.masked_ip : row.masked_device_id,
      key_version: 1,
      value_sealed: sealed,
      seal_key_id: 'operator/bench',
    })),
  );
  return { rows, records, vault };
}

async function prepareLayout(databaseUrl: string, layout: Layout, existingRows: number): Promise<Pool> {
  const name = `bench_layout_${layout.toLowerCase()}_${Date.now()}`;
  const admin = new PgClient({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const pool = createPool({ databaseUrl: databaseUrl.replace(/\/[^/]+$/, `/${name}`) }, 2);
  const before = LAYOUTS[layout].before;
  await migrate(pool, before === undefined ? undefined : listMigrations().filter((m) => m.version < before));
  await pool.query('SELECT pii_claim_root($1)', [FINGERPRINT]);
  // Today's statement on the heaps too: it writes the column migration 010 adds.
  await pool.query('ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS sent_at_source varchar(8)');
  // The rows already there: twelve months of them, keys and tokens of their own.
  await pool.query(
    `INSERT INTO user_logins (message_id, user_id, device_type, masked_ip, masked_device_id, ip_valid, locale,
                              app_version, app_version_text, create_date, sent_at, batch_id)
     SELECT 'old-' || i, 'user-' || (i % 50000), 'ios', 'v1:old-ip-' || (i % 70000), 'v1:old-dev-' || (i % 90000),
            true, 'RU', 230, '2.3.0', current_date - (i % 365), now() - (i % 365) * interval '1 day', gen_random_uuid()
       FROM generate_series(1, $1::int) i`,
    [existingRows],
  );
  // On the partitioned layout the upkeep moves the months before this one out of the default partition.
  if (before === undefined) await migrate(pool);
  await pool.query('VACUUM ANALYZE user_logins');
  return pool;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;

export async function loadLayoutsRun(databaseUrl: string, rows: number): Promise<Record<Layout, LayoutResult>> {
  const layouts = Object.keys(LAYOUTS) as Layout[];
  const pools = Object.fromEntries(
    await Promise.all(layouts.map(async (layout) => [layout, await prepareLayout(databaseUrl, layout, rows)])),
  ) as Record<Layout, Pool>;
  const timings: Record<Layout, number[]> = { heapKeyOnly: [], heapIndexed: [], partitioned: [] };
  const now = Date.now() - DAY_MS;
  try {
    for (let index = 0; index < Math.ceil(rows / BATCH); index++) {
      const writes = batchOf(index, now);
      // Each batch in another order, so no layout always goes first (or last) after the others' writes.
      for (const layout of [...layouts.slice(index % 3), ...layouts.slice(0, index % 3)]) {
        const started = performance.now();
        await pools[layout].query(loadStatement(loadParameters(1, FINGERPRINT, randomUUID(), writes)));
        timings[layout].push(performance.now() - started);
      }
    }
    for (const layout of layouts) {
      const { rows: count } = await pools[layout].query<{ n: number }>('SELECT count(*)::int AS n FROM user_logins');
      const expected = rows + rows - Math.ceil(rows / 50);
      if (Math.abs(count[0]!.n - expected) > BATCH) throw new Error(`${layout}: ${count[0]!.n} rows, not ${expected}`);
    }
  } finally {
    await Promise.all(layouts.map((layout) => pools[layout].end()));
  }
  return Object.fromEntries(
    layouts.map((layout) => {
      const seconds = timings[layout].reduce((sum, ms) => sum + ms, 0) / 1000;
      return [
        layout,
        {
          rowsPerSec: Math.round(rows / seconds),
          rows,
          seconds: Number(seconds.toFixed(2)),
          p50BatchMs: Number(percentile(timings[layout], 50).toFixed(1)),
          p99BatchMs: Number(percentile(timings[layout], 99).toFixed(1)),
        },
      ];
    }),
  ) as Record<Layout, LayoutResult>;
}

export function layoutsTable(results: Record<Layout, LayoutResult>, machine: string): string {
  return [
    `Load statement, ${Object.values(results)[0]?.rows ?? 0} rows loaded into each layout over as many already there (${machine}):`,
    '',
    `| layout | rows/s | seconds | p50 batch of ${BATCH} (ms) | p99 batch (ms) |`,
    '| --- | --- | --- | --- | --- |',
    ...(Object.entries(results) as [Layout, LayoutResult][]).map(
      ([layout, r]) =>
        `| ${LAYOUTS[layout].label} | ${r.rowsPerSec} | ${r.seconds} | ${r.p50BatchMs} | ${r.p99BatchMs} |`,
    ),
  ].join('\n');
}
