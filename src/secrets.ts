import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { createKeyring, type Keyring } from './core/keys';
import { createLogger } from './log';

const log = createLogger('keys');

export const DEV_KEY_FILE = 'dev-pii-key';

export type KeyringSettings = Pick<Config, 'PII_HMAC_KEY' | 'PII_KEY_FILE' | 'LOGIN_ETL_DATA_DIR'>;

/**
 * The keyring from its root secret: PII_HMAC_KEY, else the file PII_KEY_FILE names, else a development key
 * generated once under the data directory (with a warning each start). Async, so that a root unwrapped by a KMS
 * can take its place without changing any caller.
 */
export function loadKeyring(config: KeyringSettings): Promise<Keyring> {
  return Promise.resolve().then(() => createKeyring(Buffer.from(readRootSecret(config), 'utf8')));
}

function readRootSecret(config: KeyringSettings): string {
  if (config.PII_HMAC_KEY) return config.PII_HMAC_KEY;
  if (config.PII_KEY_FILE) return readFileSync(config.PII_KEY_FILE, 'utf8').trim();
  const file = path.join(config.LOGIN_ETL_DATA_DIR, DEV_KEY_FILE);
  log.warn('PII_HMAC_KEY is not set: using the development key; set it in production', { file });
  return readOrCreateDevKey(file);
}

function readOrCreateDevKey(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  // Written aside and linked into place: of several processes starting at once, one key wins, whole.
  const candidate = `${file}.${process.pid}.tmp`;
  writeFileSync(candidate, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  try {
    linkSync(candidate, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(candidate);
  }
  return readFileSync(file, 'utf8').trim();
}
