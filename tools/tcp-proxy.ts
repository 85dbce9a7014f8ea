import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between the pipeline and a server, to take the server off the network and bring it back: while
 * down, every open connection is reset and every new one is reset as soon as it is accepted; while black-holed,
 * nothing is reset but no byte goes through, and the bytes held arrive, in order, when it is restored (as TCP
 * retransmits them once a route comes back). With `latencyMs`,
 * what the client sends reaches the server that much later, so each request and answer costs one such delay, as
 * a server in another zone or service would (the bench's `--sqs-latency-ms`, `--pg-latency-ms`).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private down = false;
  private silent = false;
  /** Writes held back while black-holed, in the order they came. */
  private readonly held: (() => void)[] = [];

  constructor(
    readonly port: number,
    private target: { host: string; port: number },
    private readonly latencyMs = 0,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  /** Resets every connection and refuses new ones until `restore`. */
  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  /** Sends new connections to another server from now on, and resets the open ones so they reconnect there. */
  retarget(target: { host: string; port: number }): void {
    this.target = target;
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  /** Holds every byte in both directions, of open and new connections, until `restore`: no reset, no answer. */
  blackhole(): void {
    this.silent = true;
  }

  restore(): void {
    this.down = false;
    this.silent = false;
    for (const write of this.held.splice(0)) write();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(this.target);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // A reset on one side ends the other; the error itself is the fault being injected.
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    this.forward(client, upstream, this.latencyMs);
    this.forward(upstream, client, 0);
  }

  private forward(from: Socket, to: Socket, delayMs: number): void {
    const send = (write: () => void) => {
      if (this.silent) this.held.push(write);
      // Timers of equal delay fire in order, so the stream keeps its order.
      else if (delayMs > 0) setTimeout(write, delayMs);
      else write();
    };
    from.on('data', (chunk) => send(() => to.write(chunk)));
    from.on('end', () => send(() => to.end()));
  }
}
