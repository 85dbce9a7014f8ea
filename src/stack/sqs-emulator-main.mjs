// Runs fauxqs, the SQS emulator, as its own process (its CLI logs every request); the stack starts and stops it.
import { startFauxqs } from 'fauxqs';

const port = Number(process.env.FAUXQS_PORT ?? 4566);
const server = await startFauxqs({ port, logger: false });
process.stdout.write(`listening on ${server.address}\n`);

const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
