import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';

/**
 * Node flags of a worker process, declared once in package.json (`config.workerNodeFlags`), which `npm run worker`,
 * the Dockerfile, the bench and the fault suite all use: 4 MB semi-spaces and a 200 MB old space keep the worker's
 * RSS flat under 300 MB at full speed (docs/PERFORMANCE.md). Far larger batches or concurrency need a larger old space.
 */
export const WORKER_NODE_FLAGS: string[] = (
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { config: { workerNodeFlags: string } }
).config.workerNodeFlags.split(' ');
