import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './config';
import { chunksWithin } from './sqs';

export const SAMPLE_DATA_FILE = path.join(PROJECT_ROOT, 'data', 'sample-messages.jsonl');

/** One message body per non-empty line, exactly as written. */
export const readBodies = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

/** Sends bodies with SendMessageBatch, several calls in flight; fails if SQS refuses any message. */
export async function sendBodies(
  sqs: SQSClient,
  queueUrl: string,
  bodies: Iterable<string>,
  { concurrency = 8 }: { concurrency?: number } = {},
): Promise<number> {
  // One generator shared by every sender: each takes the next chunk when it is free.
  const pending = chunksWithin(bodies, (body) => Buffer.byteLength(body, 'utf8'));
  let sent = 0;
  const sender = async () => {
    for (let next = pending.next(); !next.done; next = pending.next()) {
      const chunk = next.value;
      const { Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((body, index) => ({ Id: String(index), MessageBody: body })),
        }),
      );
      if (Failed.length > 0) {
        throw new Error(`SQS refused ${Failed.length} messages: ${[...new Set(Failed.map((f) => f.Code))].join(', ')}`);
      }
      sent += chunk.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return sent;
}
