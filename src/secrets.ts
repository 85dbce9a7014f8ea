import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { deriveKeys, type PipelineKeys } from './core/keys';
import { createLogger } from './log';

const log = createLogger('keys');

export const DEV_KEY_FILE = 'dev-pii-key';

/** PII_HMAC_KEY, or a development key generated once under the data directory (with a warning each start). */
export function loadPipelineKeys(config: Pick<Config, 'PII_HMAC_KEY' | 'LOGIN_ETL_DATA_DIR'>): PipelineKeys {
  if (config.PII_HMAC_KEY) return deriveKeys(Buffer.from(config.PII_HMAC_KEY, 'utf8'));
  const file = path.join(config.LOGIN_ETL_DATA_DIR, DEV_KEY_FILE);
  log.warn('PII_HMAC_KEY is not set: using the development key; set it in production', { file });
  return deriveKeys(Buffer.from(readOrCreateDevKey(file), 'utf8'));
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
