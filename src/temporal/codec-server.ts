import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { Logger } from '../log';
import { createCodecAuth, UnauthenticatedError, type CodecAuthSettings } from './codec-auth';
import {
  encodingOf,
  isEncrypted,
  keyIdOf,
  PLAIN_ENCODINGS_ALLOWED,
  workflowIdOf,
  type EncryptionCodec,
} from './encryption-codec';

interface CodecLimits {
  maxBodyBytes: number;
  maxPayloads: number;
  /** What the payloads of one request may inflate to in all. */
  maxDecodedBytes: number;
}

const DEFAULT_CODEC_LIMITS: CodecLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxPayloads: 1000,
  maxDecodedBytes: 16 * 1024 * 1024,
};

export interface CodecServerOptions {
  /** Holds the payload codec's key, and nothing else of the pipeline's keys. */
  codec: EncryptionCodec;
  /** Browser origins allowed to call (the Web UI's); requests without an Origin (the CLI) are not browsers. */
  allowedOrigins: string[];
  /** Who may call: a static token, OIDC access tokens checked against a JWKS, or (both unset) anyone who reaches it. */
  auth: CodecAuthSettings;
  /** `/encode` encrypts whatever it is sent under the pipeline's key: off unless an operator needs it. */
  encodeEnabled: boolean;
  host: string;
  port: number;
  /** Serve https with this certificate and key (PEM); unset, plain http. */
  tls?: { cert: Buffer; key: Buffer };
  log: Logger;
  limits?: Partial<CodecLimits>;
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
 * `POST /decode` (and, when enabled, `/encode`), also under `/{namespace}/`, as the Temporal Web UI and CLI call
 * them: the payload codec run for authenticated operators, each decode logged with who asked, for which namespace
 * and workflows, and how many payloads.
 */
export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const limits = { ...DEFAULT_CODEC_LIMITS, ...options.limits };
  const authenticate = createCodecAuth(options.auth);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    // For a platform's probes: says the process answers, and nothing else (no key, no payload, no caller).
    if (request.method === 'GET' && request.url === '/healthz') {
      response.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return 200;
    }
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
    if (!route) throw new HttpError(404, 'not found: POST /encode or /decode, GET /healthz');
    if (request.method !== 'POST') throw new HttpError(405, 'method not allowed: use POST');
    const encode = route[1] === 'encode';
    if (encode && !options.encodeEnabled)
      throw new HttpError(403, '/encode is off (CODEC_ENABLE_ENCODE=true turns it on)');
    let identity: string;
    try {
      identity = await authenticate(request.headers.authorization);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      response.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, error.message);
    }
    const parsed = payloadsSchema.safeParse(parseJson(await readBody(request, limits.maxBodyBytes)));
    if (!parsed.success) throw new HttpError(400, `bad request: ${parsed.error.issues[0]!.message}`);
    if (parsed.data.payloads.length > limits.maxPayloads) {
      throw new HttpError(413, `more than ${limits.maxPayloads} payloads in one request`);
    }
    const payloads = parsed.data.payloads.map(fromJson);
    if (!encode) payloads.forEach((payload, index) => checkDecodable(options.codec, payload, index));
    const result = encode
      ? await options.codec.encode(payloads)
      : await options.codec.decodeWithin(payloads, limits.maxDecodedBytes).catch((error: unknown) => {
          throw new HttpError(422, `cannot decode: ${(error as Error).message}`);
        });
    options.log.info(encode ? 'encoded' : 'decoded', {
      identity,
      namespace: headerOf(request, 'x-namespace') ?? '-',
      // Named by the payloads themselves, bound to their ciphertext: a caller cannot claim another workflow's.
      workflowIds: workflowIdsOf(payloads),
      count: payloads.length,
    });
    response
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ payloads: result.map(toJson) }));
    return 200;
  };

  const listener: RequestListener = (request, response) => {
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
  };
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The distinct workflows a request's payloads belong to, for the log line; `-` when none names one. */
const workflowIdsOf = (payloads: Payload[]): string =>
  [...new Set(payloads.map(workflowIdOf).filter((id) => id !== undefined))].join(',').slice(0, 512) || '-';

const headerOf = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' ? value.slice(0, 256) : undefined;
};

/**
 * Fails closed before anything is decrypted: a payload must be encrypted under one of this server's codec keys (an id
 * of another purpose or another root is refused, not looked up), or be one of the plain encodings that carry nothing.
 */
function checkDecodable(codec: EncryptionCodec, payload: Payload, index: number): void {
  if (!isEncrypted(payload)) {
    const encoding = encodingOf(payload) ?? 'none';
    if (PLAIN_ENCODINGS_ALLOWED.includes(encoding)) return;
    throw new HttpError(422, `payload ${index} is not encrypted (encoding ${encoding}); refused`);
  }
  const keyId = keyIdOf(payload);
  if (!keyId.startsWith('temporal-codec/'))
    throw new HttpError(422, `payload ${index} names a key that is not a codec key`);
  if (!codec.opens(keyId)) throw new HttpError(422, `payload ${index} is encrypted with another codec key`);
}

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
