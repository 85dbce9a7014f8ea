/**
 * `npm run build`: compiles src/ to dist/ (tsc, tsconfig.build.json), copies the files tsc does not (migrations,
 * the SQS emulator's entry point), and writes the workflow bundle (dist/workflow-bundle.js) that a worker run from
 * dist/ loads instead of bundling at start.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';
import { bundleWorkflows, PREBUILT_BUNDLE } from '../src/temporal/workflow-bundle';

const SOURCE = path.join(PROJECT_ROOT, 'src');
const DIST = path.join(PROJECT_ROOT, 'dist');

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  cpSync(SOURCE, DIST, { recursive: true, filter: (file) => !/\.tsx?$/.test(file) });
  chmodSync(path.join(DIST, 'cli', 'login-etl.js'), 0o755);
  // The bundle is made from the sources, as the worker would make it at start; it lands where the compiled
  // worker looks for it (PREBUILT_BUNDLE, resolved here from src/: the same name under dist/).
  const bundle = path.join(DIST, path.relative(SOURCE, PREBUILT_BUNDLE));
  writeFileSync(bundle, await bundleWorkflows());
  process.stdout.write(
    `built ${path.relative(PROJECT_ROOT, DIST)}/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
