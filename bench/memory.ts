/**
 * The worker's memory over a long continuous drain: RSS sampled every second while a `--continuous` drain works
 * through the queue, and the history of each run (continue-as-new keeps it bounded).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { historyEvents } from '../tools/history';

export interface MemorySample {
  seconds: number;
  processed: number;
  rssMb: number;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/** Samples until `total` messages are rows or quarantine records, then ends the continuous drain. */
export async function sampleMemory(worker: ChildProcess, pool: Pool, total: number): Promise<MemorySample[]> {
  const samples: MemorySample[] = [];
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM user_logins) + (SELECT count(*) FROM quarantined_messages) AS n',
    );
    const processed = Number(rows[0]!.n);
    samples.push({
      seconds: Math.round((Date.now() - started) / 1000),
      processed,
      rssMb: Math.round(rssMb(worker.pid!)),
    });
    if (processed >= total) return samples;
    await sleep(1_000);
  }
}

/** Events per run of a workflow id, oldest run first (continue-as-new starts each run afresh). */
export async function eventsPerRun(client: Client, workflowId: string): Promise<number[]> {
  const counts = new Map<string, number>();
  for await (const page of historyEvents(client, workflowId)) {
    counts.set(page.runId, (counts.get(page.runId) ?? 0) + page.events.length);
  }
  return [...counts.values()].reverse();
}

/** RSS (and messages processed) over time, as an SVG line chart. */
export function memoryChart(samples: MemorySample[], total: number): string {
  const width = 640;
  const height = 300;
  const left = 50;
  const bottom = 260;
  const maxSeconds = Math.max(...samples.map((s) => s.seconds), 1);
  const maxRss = Math.max(400, ...samples.map((s) => s.rssMb));
  const x = (seconds: number) => left + (seconds / maxSeconds) * (width - left - 20);
  const yRss = (mb: number) => bottom - (mb / maxRss) * (bottom - 40);
  const yDone = (n: number) => bottom - (n / total) * (bottom - 40);
  const line = (points: string) => points.trim();
  const rss = samples.map((s) => `${x(s.seconds).toFixed(1)},${yRss(s.rssMb).toFixed(1)}`).join(' ');
  const done = samples.map((s) => `${x(s.seconds).toFixed(1)},${yDone(s.processed).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
  <text x="10" y="20" font-size="15" font-weight="bold">worker RSS over a continuous drain of ${total} messages</text>
  <line x1="${left}" y1="${bottom}" x2="${width - 20}" y2="${bottom}" stroke="#888"/>
  <line x1="${left}" y1="40" x2="${left}" y2="${bottom}" stroke="#888"/>
  <line x1="${left}" y1="${yRss(300)}" x2="${width - 20}" y2="${yRss(300)}" stroke="#c33" stroke-dasharray="4 4"/>
  <text x="${left + 4}" y="${yRss(300) - 4}" fill="#c33">300 MB</text>
  <text x="4" y="44">${maxRss} MB</text>
  <text x="${width - 60}" y="${bottom + 16}">${maxSeconds} s</text>
  <polyline fill="none" stroke="#4a7bd0" stroke-width="2" points="${line(rss)}"/>
  <polyline fill="none" stroke="#999" stroke-width="1" points="${line(done)}"/>
  <text x="${left + 4}" y="${bottom + 30}"><tspan fill="#4a7bd0">— RSS (MB)</tspan>  <tspan fill="#999">— messages processed (0 to ${total})</tspan></text>
</svg>
`;
}
