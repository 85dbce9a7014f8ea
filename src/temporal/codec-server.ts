import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { Logger } from '../log';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call (the Web UI's); requests without an Origin (the CLI) are not browsers. */
  allowedOrigins: string[];
  /** When set, every call must carry `Authorization: Bearer <token>`. */
  authToken?: string;
  host: string;
  port: number;
  log: Logger;
  maxBodyBytes?: number;
}

export interface RunningCodecServer {
  url: string;
  stop(): Promise<void>;
}

/** The codec server protocol's JSON: proto3 JSON of Payloads, so data and every metadata value are base64. */
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloadsSchema = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() })),
});
type JsonPayload = z.infer<typeof payloadsSchema>['payloads'][number];

const fromJson = (payload: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(payload.data ?? '', 'base64'),
});
const toJson = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

const ROUTE = /^(?:\/[^/]+)?\/(encode|decode)$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `POST /encode` and `POST /decode` (also under `/{namespace}/`), as the Temporal Web UI and CLI call them: the
 * payload codec run on behalf of whoever may reach this server, so the history decodes for operators only.
 */
export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const expectedToken = options.authToken ? digest(`Bearer ${options.authToken}`) : undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!options.allowedOrigins.includes(origin)) throw new HttpError(403, 'origin not allowed');
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Access-Control-Allow-Credentials', 'true');
      response.setHeader('Vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      response.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      response.setHeader('Access-Control-Max-Age', '600');
      response.writeHead(204).end();
      return 204;
    }
    const route = ROUTE.exec(new URL(request.url ?? '/', 'http://codec').pathname);
    if (!route) throw new HttpError(404, 'not found: POST /encode or /decode');
    if (request.method !== 'POST') throw new HttpError(405, 'method not allowed: use POST');
    if (expectedToken && !sameDigest(expectedToken, digest(request.headers.authorization ?? ''))) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'missing or wrong bearer token');
    }
    const parsed = payloadsSchema.safeParse(parseJson(await readBody(request, maxBodyBytes)));
    if (!parsed.success) throw new HttpError(400, `bad request: ${parsed.error.issues[0]!.message}`);
    const payloads = parsed.data.payloads.map(fromJson);
    const result = route[1] === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
    response
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ payloads: result.map(toJson) }));
    return 200;
  };

  const server = createServer((request, response) => {
    handle(request, response).then(
      (status) => options.log.debug('codec request', { method: request.method, path: request.url, status }),
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 400;
        const message = error instanceof Error ? error.message : 'failed';
        options.log.warn('codec request refused', { method: request.method, path: request.url, status });
        if (!response.headersSent) response.writeHead(status, { 'Content-Type': 'text/plain' });
        response.end(`${message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();
const sameDigest = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad request: the body is not JSON');
  }
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, `request body over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
