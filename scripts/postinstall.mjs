// npm install runs this. A development install gets the Temporal CLI for the local stack
// (scripts/install-temporal-cli.ts, run with tsx); a production install (npm ci --omit=dev) has no tsx and runs
// no local stack, so it skips that.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsx;
try {
  tsx = require.resolve('tsx/cli');
} catch {
  process.stdout.write('[install-temporal-cli] skipped: a production install runs no local stack\n');
  process.exit(0);
}
const { status } = spawnSync(process.execPath, [tsx, 'scripts/install-temporal-cli.ts'], { stdio: 'inherit' });
process.exit(status ?? 1);
