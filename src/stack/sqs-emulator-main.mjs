// Runs fauxqs, the SQS emulator, as its own process (its CLI logs every request); the stack starts and stops it.
// fauxqs keeps its queues in memory only. With FAUXQS_STATE_FILE, this launcher saves them (messages, in-flight
// ones with their receipt handles and deadlines, receive counts) when it stops and restores them when it starts,
// so a restart loses nothing, as with SQS itself. That reaches into fauxqs's store, whose version is pinned.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { buildApp } from 'fauxqs';

const { SqsStore } = await import(new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs')).href);

const port = Number(process.env.FAUXQS_PORT ?? 4566);
const stateFile = process.env.FAUXQS_STATE_FILE;
const sqsStore = new SqsStore();

if (stateFile && existsSync(stateFile)) {
  const state = JSON.parse(readFileSync(stateFile, 'utf8'));
  for (const saved of state.queues) {
    const queue = sqsStore.createQueue(saved.name, saved.url, saved.arn, saved.attributes, saved.tags);
    queue.messages = saved.messages;
    queue.delayedMessages = saved.delayedMessages;
    queue.inflightMessages = new Map(saved.inflight.map((entry) => [entry.receiptHandle, entry]));
  }
  process.stdout.write(`restored ${state.queues.length} queues from ${stateFile}\n`);
}

function saveState() {
  const queues = [...sqsStore.queues.values()].map((queue) => ({
    name: queue.name,
    url: queue.url,
    arn: queue.arn,
    attributes: queue.attributes,
    tags: Object.fromEntries(queue.tags),
    messages: queue.messages,
    delayedMessages: queue.delayedMessages,
    inflight: [...queue.inflightMessages.values()],
  }));
  // Queued bodies hold raw ip and device_id: readable by this user only.
  writeFileSync(`${stateFile}.tmp`, JSON.stringify({ queues }), { mode: 0o600 });
  renameSync(`${stateFile}.tmp`, stateFile);
}

const app = buildApp({ logger: false, stores: { sqsStore } });
// Loopback only: the queues hold raw bodies, and nothing off this machine needs them.
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`listening on port ${port}\n`);

const stop = async () => {
  await app.close();
  if (stateFile) saveState();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
