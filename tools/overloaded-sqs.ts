import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, forward, listenLocally, readBody } from './http-forward';

/**
 * How an overloaded SQS-compatible server behaves, after one seen in the wild: it serves one request at a time, each
 * taking a base latency plus a cost per message in the queue (it scans them), keeps only a few connections open
 * (the rest are reset as soon as they are accepted), and answers a share of requests with HTTP 500.
 */
export interface OverloadShape {
  /** @default 20 */
  baseMs: number;
  /** @default 0.3 (3,000 messages queued: 920 ms a request) */
  perQueuedMessageMs: number;
  /** @default 3 */
  maxConnections: number;
  /** @default 0.02 */
  serverErrorShare: number;
}

export const OVERLOADED_SQS: OverloadShape = {
  baseMs: 20,
  perQueuedMessageMs: 0.3,
  maxConnections: 3,
  serverErrorShare: 0.02,
};

/** What the model did, for the bench's and the fault suite's reports. */
export interface OverloadStats {
  requests: number;
  /** Requests served, by SQS operation. */
  byOperation: Record<string, number>;
  refusedConnections: number;
  serverErrors: number;
  /** Messages its ReceiveMessage answers carried: with `byOperation`, how full the receives were. */
  messagesReceived: number;
  /** Time it spent serving requests (ms): against the time a drain took, how busy the client kept it. */
  busyMs: number;
}

interface Pending {
  body: Buffer;
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

/** How long the queue's depth, read from the emulator itself, is trusted before it is read again. */
const DEPTH_CACHE_MS = 200;

/**
 * The model as an HTTP proxy in front of the SQS emulator (the AWS SDK speaks SQS's JSON protocol; the emulator
 * does not check signatures). Every request waits its turn in one line, as on a single-threaded server.
 */
export class OverloadedSqs {
  private readonly server: Server;
  private readonly line: Pending[] = [];
  private serving = false;
  private readonly emulator: SQSClient;
  private readonly depths = new Map<string, { at: number; depth: Promise<number> }>();
  readonly stats: OverloadStats = {
    requests: 0,
    byOperation: {},
    refusedConnections: 0,
    serverErrors: 0,
    messagesReceived: 0,
    busyMs: 0,
  };

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
    private readonly shape: OverloadShape = OVERLOADED_SQS,
    private readonly random: () => number = Math.random,
  ) {
    this.emulator = new SQSClient({
      region: 'us-east-1',
      endpoint: `http://${target.host}:${target.port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    this.server = createServer((incoming, outgoing) => {
      void readBody(incoming).then((body) => {
        this.line.push({ body, incoming, outgoing });
        void this.serve();
      });
    });
    // Past this many open connections, a new one is closed as soon as it is accepted: the client sees a reset.
    this.server.maxConnections = shape.maxConnections;
    this.server.on('drop', () => this.stats.refusedConnections++);
  }

  listen(): Promise<void> {
    return listenLocally(this.server, this.port);
  }

  close(): Promise<void> {
    this.emulator.destroy();
    return closeServer(this.server);
  }

  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      for (let next = this.line.shift(); next; next = this.line.shift()) await this.answer(next);
    } finally {
      this.serving = false;
    }
  }

  private async answer(pending: Pending): Promise<void> {
    const started = Date.now();
    try {
      await this.respond(pending);
    } finally {
      this.stats.busyMs += Date.now() - started;
    }
  }

  private async respond({ body, incoming, outgoing }: Pending): Promise<void> {
    this.stats.requests++;
    const operation = String(incoming.headers['x-amz-target'] ?? 'unknown').replace(/^AmazonSQS\./, '');
    this.stats.byOperation[operation] = (this.stats.byOperation[operation] ?? 0) + 1;
    const queueUrl = (JSON.parse(body.toString('utf8') || '{}') as { QueueUrl?: string }).QueueUrl;
    const depth = queueUrl ? await this.depthOf(queueUrl).catch(() => 0) : 0;
    await new Promise((resolve) => setTimeout(resolve, this.shape.baseMs + this.shape.perQueuedMessageMs * depth));
    if (outgoing.destroyed) return;
    if (this.random() < this.shape.serverErrorShare) {
      this.stats.serverErrors++;
      outgoing
        .writeHead(500, { 'content-type': 'application/x-amz-json-1.0' })
        .end(JSON.stringify({ __type: 'com.amazonaws.sqs#InternalError', message: 'overloaded' }));
      return;
    }
    const answer = await forward(this.target, incoming, body).catch(() => undefined);
    if (!answer) return void outgoing.writeHead(502).end();
    if (operation === 'ReceiveMessage' && answer.status === 200) {
      this.stats.messagesReceived +=
        (JSON.parse(answer.body.toString('utf8')) as { Messages?: unknown[] }).Messages?.length ?? 0;
    }
    outgoing.writeHead(answer.status, answer.headers).end(answer.body);
  }

  /** Messages in the queue, visible or not: what a server that scans them pays for. */
  private depthOf(queueUrl: string): Promise<number> {
    const cached = this.depths.get(queueUrl);
    if (cached && Date.now() - cached.at < DEPTH_CACHE_MS) return cached.depth;
    const depth = this.emulator
      .send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
      .then(
        ({ Attributes = {} }) =>
          Number(Attributes.ApproximateNumberOfMessages ?? 0) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      );
    this.depths.set(queueUrl, { at: Date.now(), depth });
    return depth;
  }
}
