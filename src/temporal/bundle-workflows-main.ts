/** Writes the workflow bundle to the file named by the first argument (see bundleWorkflowsApart). */
import { writeFileSync } from 'node:fs';
import { bundleWorkflows } from './workflow-bundle';

bundleWorkflows().then(
  (code) => writeFileSync(process.argv[2]!, code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
