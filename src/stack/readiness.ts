import { createServer } from 'node:net';

/** Polls `check` until it resolves true, or fails with `what` once the deadline has passed. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 200,
    abort,
  }: { timeoutMs?: number; intervalMs?: number; abort?: Promise<unknown> } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let aborted: string | undefined;
  void abort?.then(
    (reason) => (aborted = `exit ${JSON.stringify(reason)}`),
    (error: unknown) => (aborted = error instanceof Error ? error.message : 'failed'),
  );
  for (;;) {
    if (aborted !== undefined) throw new Error(`${what}: the process ended before it was ready (${aborted})`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/** Fails with one clear line when a fixed port is already taken, before anything is started. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(
              `port ${port} (${what}) is already in use: is another stack running? Stop it or free the port`,
            )
          : error,
      ),
    );
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve()));
  });
}

/**
 * A distinct port for each name, each free right now, for tests and for components that need no fixed port.
 * All are held open until each is known: one at a time, the OS may hand a just-released port out again.
 */
export async function freePorts<Name extends string>(...names: Name[]): Promise<Record<Name, number>> {
  const servers = names.map(() => createServer());
  try {
    const ports = await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ port: 0, host: '127.0.0.1' }, () => {
              const address = server.address();
              if (typeof address === 'object' && address) resolve(address.port);
              else reject(new Error('no port'));
            });
          }),
      ),
    );
    return Object.fromEntries(names.map((name, index) => [name, ports[index]])) as Record<Name, number>;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** One port free right now; the ports of one stack come from one `freePorts` call, so they differ. */
export async function freePort(): Promise<number> {
  return (await freePorts('port')).port;
}
