import { createServer, request, type IncomingMessage, type Server } from 'node:http';

/**
 * An HTTP proxy in front of the SQS emulator that makes it behave like a slow, stingy SQS: every answer comes
 * `delayMs` late, and a ReceiveMessage asks for at most `maxMessages` (the AWS SDK speaks SQS's JSON protocol, so
 * the request body is rewritten; the emulator does not check signatures).
 */
export class SqsShaper {
  private readonly server: Server;

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
    private readonly shape: { delayMs: number; maxMessages: number },
  ) {
    this.server = createServer((incoming, outgoing) => {
      void this.forward(incoming).then(
        async ({ status, headers, body }) => {
          await new Promise((resolve) => setTimeout(resolve, this.shape.delayMs));
          outgoing.writeHead(status, headers).end(body);
        },
        () => outgoing.writeHead(502).end(),
      );
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async forward(incoming: IncomingMessage) {
    let body = await read(incoming);
    if (String(incoming.headers['x-amz-target'] ?? '').endsWith('.ReceiveMessage')) {
      const parsed = JSON.parse(body.toString('utf8')) as { MaxNumberOfMessages?: number };
      parsed.MaxNumberOfMessages = Math.min(parsed.MaxNumberOfMessages ?? 1, this.shape.maxMessages);
      body = Buffer.from(JSON.stringify(parsed), 'utf8');
    }
    return new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const upstream = request(
        {
          ...this.target,
          method: incoming.method,
          path: incoming.url,
          headers: { ...incoming.headers, 'content-length': String(body.length) },
        },
        (answer) => {
          void read(answer).then((answerBody) =>
            resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: answerBody }),
          );
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

async function read(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
