/** One in-process benchmark mode in a process of its own; prints its run and its own CPU time and peak RSS as JSON. */
import { loadConfig } from '../src/config';
import { loadWorkerKeys } from '../src/secrets';
import { IN_PROCESS_MODES, type InProcessMode } from './modes';

async function main() {
  const [mode, concurrency, batchSize, maxBatchBytes] = process.argv.slice(2);
  const config = loadConfig();
  const keys = await loadWorkerKeys(config);
  const cpuBefore = process.cpuUsage();
  const run = await IN_PROCESS_MODES[mode as InProcessMode]({
    config,
    keys,
    concurrency: Number(concurrency),
    batchSize: Number(batchSize),
    maxBatchBytes: Number(maxBatchBytes),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ...run, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
