import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeServer, forward, listenLocally, readBody } from '../../tools/http-forward';

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
    return listenLocally(this.server, this.port);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async forward(incoming: IncomingMessage) {
    let body = await readBody(incoming);
    if (String(incoming.headers['x-amz-target'] ?? '').endsWith('.ReceiveMessage')) {
      const parsed = JSON.parse(body.toString('utf8')) as { MaxNumberOfMessages?: number };
      parsed.MaxNumberOfMessages = Math.min(parsed.MaxNumberOfMessages ?? 1, this.shape.maxMessages);
      body = Buffer.from(JSON.stringify(parsed), 'utf8');
    }
    return forward(this.target, incoming, body);
  }
}
