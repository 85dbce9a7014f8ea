import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config';
import type { Logger } from '../log';
import { freePort } from '../stack/readiness';

/** One dependency the worker needs: resolves when it answers, rejects (or is timed out) when it does not. */
export interface DependencyCheck {
  name: string;
  check: (signal: AbortSignal) => Promise<unknown>;
}

export interface ReadinessReport {
  ready: boolean;
  /** Why not, one line per dependency or state; empty when ready. */
  reasons: string[];
}

/** A probe every few seconds from each kubelet and Prometheus must not become load: one check this often at most. */
const CHECK_CACHE_MS = 5_000;
/** What a dependency may take to answer before it counts as away (a probe's own timeout is usually 1–5 s). */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * Whether the worker can do its work now: it is running (not starting, not shutting down), and Temporal, SQS and
 * Postgres each answer within two seconds. Dependencies are asked at most once every five seconds; probes in between,
 * and probes while a check is under way, share its answer.
 */
export class Readiness {
  private cached: { at: number; report: Promise<ReadinessReport> } | undefined;

  constructor(
    private readonly checks: DependencyCheck[],
    private readonly running: () => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  report(): Promise<ReadinessReport> {
    if (!this.running()) {
      return Promise.resolve({ ready: false, reasons: ['the worker is starting or shutting down'] });
    }
    const fresh = this.cached && this.now() - this.cached.at < CHECK_CACHE_MS;
    if (!fresh) this.cached = { at: this.now(), report: this.checkAll() };
    return this.cached!.report;
  }

  private async checkAll(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async ({ name, check }) => {
        const timeout = new AbortController();
        const timer = setTimeout(() => timeout.abort(), CHECK_TIMEOUT_MS);
        try {
          await Promise.race([
            check(timeout.signal),
            new Promise((_, reject) => timeout.signal.addEventListener('abort', () => reject(new Error('timeout')))),
          ]);
          return undefined;
        } catch (error) {
          return `${name}: ${timeout.signal.aborted ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s` : oneLine(error)}`;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const reasons = results.filter((reason) => reason !== undefined);
    return { ready: reasons.length === 0, reasons };
  }
}

/** An error's message on one line and short: it goes into a probe's answer body, never a value of a message. */
const oneLine = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replace(/\s+/g, ' ').slice(0, 200);

export interface HealthEndpoints {
  /** Where the SDK's Prometheus exporter is to listen (loopback, a free port): `/metrics` is served from it. */
  coreMetricsAddress: string;
  /** The address the endpoints answer on (the port the OS chose, for `:0`). */
  address: string;
  setReadiness(readiness: Readiness): void;
  stop(): Promise<void>;
}

/**
 * The worker's metrics port: `/metrics` (the Temporal runtime's Prometheus exporter, which owns no other route,
 * passed through from a loopback port), `/healthz` (the process and its event loop answer) and `/readyz`
 * (Readiness: 503 with the reasons until the worker runs and its dependencies answer). Started before anything
 * else, so a platform sees a live, not-ready process while the worker starts.
 */
export async function startHealthEndpoints(address: string, log: Logger): Promise<HealthEndpoints> {
  const core = { host: '127.0.0.1', port: await freePort() };
  let readiness: Readiness | undefined;
  const answer = (response: ServerResponse, status: number, body: string) =>
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://worker').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(response, 405, 'use GET\n');
    if (path === '/healthz') return answer(response, 200, 'ok\n');
    if (path === '/readyz') {
      const report = readiness ? await readiness.report() : { ready: false, reasons: ['the worker is starting'] };
      return answer(response, report.ready ? 200 : 503, report.ready ? 'ready\n' : `${report.reasons.join('\n')}\n`);
    }
    if (path === '/metrics') {
      const ready = readiness ? (await readiness.report()).ready : false;
      return passThrough(core, request, response, processMetrics(ready));
    }
    return answer(response, 404, 'not found: /metrics, /healthz, /readyz\n');
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.warn('health endpoint failed', { path: request.url, reason: oneLine(error) });
      if (!response.headersSent) answer(response, 502, `${oneLine(error)}\n`);
      else response.destroy();
    });
  });
  const [host, port] = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(metricsAddressError(address, error)));
    server.listen(port, host, () => resolve());
  });
  return {
    coreMetricsAddress: `${core.host}:${core.port}`,
    address: `${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`,
    setReadiness: (next) => void (readiness = next),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The one line a worker stops with when it cannot serve METRICS_ADDRESS (another worker on the port, say). */
export const metricsAddressError = (address: string, error: unknown): ConfigError =>
  new ConfigError(
    `invalid setting METRICS_ADDRESS: cannot serve metrics on ${address} (${(error as Error).message}); ` +
      'give each worker on this host its own port, or set it to off',
  );

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), Number(address.slice(at + 1))];
}

/** The SDK's exposition, then `extra` (the process's own series) after it. */
function passThrough(
  core: { host: string; port: number },
  request: IncomingMessage,
  response: ServerResponse,
  extra: string,
) {
  return new Promise<void>((resolve, reject) => {
    const upstream = get(
      { ...core, path: '/metrics', headers: { accept: request.headers.accept ?? '*/*' } },
      (from) => {
        response.writeHead(from.statusCode ?? 502, { 'Content-Type': from.headers['content-type'] ?? 'text/plain' });
        from.pipe(response, { end: false });
        from.on('end', () => {
          response.end(from.statusCode === 200 ? extra : '');
          resolve();
        });
        from.on('error', reject);
      },
    );
    upstream.on('error', reject);
  });
}

/**
 * What the SDK's exporter does not serve: the process's memory and CPU (the names Prometheus client libraries use,
 * so common dashboards and alerts find them) and whether the worker is ready, for an alert on workers not ready.
 */
function processMetrics(ready: boolean): string {
  const { user, system } = process.cpuUsage();
  const series = [
    ['process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', process.memoryUsage.rss()],
    ['process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', (user + system) / 1e6],
    ['login_etl_worker_ready', 'gauge', 'Whether the worker is ready (what /readyz answers): 1 or 0.', ready ? 1 : 0],
  ] as const;
  return series
    .map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`)
    .join('');
}
