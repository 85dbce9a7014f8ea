import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Postgres refuses to run as root, so as root the embedded server runs as the `postgres` user, which must be able
 * to reach its binaries and its data directory. A clone in a directory only root may enter (`mktemp -d`, /root)
 * is out of its reach: there, the binaries are copied once to SHARED_POSTGRES_DIR and the data kept beside them.
 */
const SHARED_POSTGRES_DIR = '/var/lib/login-etl';

interface ServerUser {
  uid: number;
  gid: number;
}

export interface PostgresPlacement {
  /** The directory holding bin/, lib/ and share/. */
  installDir: string;
  dataDir: string;
  /** Whom the server runs as; undefined: the current user. */
  user?: ServerUser;
  /** Said once at start when something was moved out of the clone. */
  notes: string[];
}

/** One line naming the directory and what to do instead. */
class PostgresPlacementError extends Error {
  override name = 'PostgresPlacementError';
}

const idOf = (flag: '-u' | '-g', name: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());

/** The `postgres` user, made (as a system user without a login shell) when the machine has none. */
function serverUser(): ServerUser {
  const exists = () => spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status === 0;
  if (!exists()) {
    const made = spawnSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      {
        encoding: 'utf8',
      },
    );
    if (!exists()) {
      throw new PostgresPlacementError(
        `embedded Postgres: as root it must run as a postgres user, and none could be made (${made.stderr?.trim() || made.error?.message}); ` +
          'set DATABASE_URL to a Postgres of your own',
      );
    }
  }
  return { uid: idOf('-u', 'postgres'), gid: idOf('-g', 'postgres') };
}

/** Whether `user` may reach `target` and, for a directory, create files in it (`test` runs as that user). */
function reachableBy(user: ServerUser, target: string, access: 'x' | 'wx'): boolean {
  const checks = access === 'wx' ? 'test -x "$1" && test -w "$1"' : 'test -x "$1"';
  return (
    spawnSync('/bin/sh', ['-c', checks, 'sh', target], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0
  );
}

/** Where a data directory the server user cannot reach is kept instead: one per original path. */
export function sharedDataDir(dataDir: string): string {
  const key = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(SHARED_POSTGRES_DIR, `data-${key}`, 'postgres');
}

function makeSharedDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new PostgresPlacementError(
      `embedded Postgres: as root it runs as the postgres user, who cannot reach this clone, and ${dir} cannot be made ` +
        `(${(error as Error).message}); set DATABASE_URL to a Postgres of your own, or move the clone to a directory ` +
        'others may enter',
    );
  }
}

/** A copy of the binaries outside the clone, made once per version; a half-made copy is never used. */
function sharedInstall(installDir: string, version: string): string {
  const target = path.join(SHARED_POSTGRES_DIR, `postgres-${version}-${process.platform}-${process.arch}`);
  if (existsSync(path.join(target, 'bin', 'postgres'))) return target;
  makeSharedDir(SHARED_POSTGRES_DIR);
  const partial = `${target}.partial-${process.pid}`;
  cpSync(installDir, partial, { recursive: true, verbatimSymlinks: true });
  try {
    renameSync(partial, target);
  } catch (error) {
    // Another stack made it at the same moment.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(path.join(target, 'bin', 'postgres'))) throw error;
  }
  return target;
}

/** Where the server's binaries and data live, and whom it runs as. */
export function placePostgres(options: { installDir: string; version: string; dataDir: string }): PostgresPlacement {
  if (process.getuid?.() !== 0) return { installDir: options.installDir, dataDir: options.dataDir, notes: [] };
  const user = serverUser();
  const notes: string[] = [];
  let installDir = options.installDir;
  if (!reachableBy(user, path.join(installDir, 'bin', 'postgres'), 'x')) {
    installDir = sharedInstall(installDir, options.version);
    notes.push(`the postgres user cannot reach ${options.installDir}: running the copy in ${installDir}`);
  }
  let dataDir = options.dataDir;
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (!reachableBy(user, path.dirname(dataDir), 'x')) {
    dataDir = sharedDataDir(options.dataDir);
    makeSharedDir(path.dirname(dataDir));
    notes.push(`the postgres user cannot reach ${options.dataDir}: its data is kept in ${dataDir}`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chownSync(dataDir, user.uid, user.gid);
  return { installDir, dataDir, user, notes };
}
