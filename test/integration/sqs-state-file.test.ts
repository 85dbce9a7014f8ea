import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log';
import { sendBodies } from '../../src/seed-messages';
import { createSqsClient, ensureQueues } from '../../src/sqs';
import { freePort } from '../../src/stack/readiness';
import { startSqsEmulator } from '../../src/stack/sqs-emulator';

describe('the SQS emulator', () => {
  it('state file holds the queued bodies (raw values) readable by its owner only', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sqs-state-'));
    const stateFile = path.join(dir, 'sqs-state.json');
    const port = await freePort();
    const emulator = await startSqsEmulator({ port, log: createLogger('sqs'), stateFile });
    const sqs = createSqsClient({ sqsEndpoint: emulator.endpoint, AWS_REGION: 'us-east-1' });
    try {
      const { queueUrl } = await ensureQueues(sqs, 'state-file');
      await sendBodies(sqs, queueUrl, ['{"ip":"203.0.113.9"}']);
    } finally {
      sqs.destroy();
      await emulator.stop();
    }
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on the loopback interface only', async () => {
    const port = await freePort();
    const emulator = await startSqsEmulator({ port, log: createLogger('sqs') });
    try {
      const outside = Object.values(networkInterfaces())
        .flat()
        .filter((address) => address && !address.internal && address.family === 'IPv4')
        .map((address) => address!.address);
      for (const host of ['127.0.0.1', ...outside]) {
        const reached = await new Promise<boolean>((resolve) => {
          const socket = createConnection({ host, port }, () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
        assert.equal(reached, host === '127.0.0.1', `${host}:${port}`);
      }
    } finally {
      await emulator.stop();
    }
  });
});
