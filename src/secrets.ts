import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { awsClientSettings } from './aws';
import { ConfigError, type Config } from './config';
import { MIN_ROOT_STRENGTH_BITS, rootStrengthBits } from './core/root-strength';
import { codecKeyFromBytes, createKeyring, type Keyring, type VersionedKey } from './core/keys';
import {
  generateOperatorKeyPair,
  parseOperatorPrivateKey,
  parseOperatorPublicKey,
  type OperatorPrivateKey,
  type OperatorPublicKey,
} from './core/operator-seal';
import type { OpeningKeys } from './core/vault';
import { createLogger } from './log';

const log = createLogger('keys');

const DEV_KEY_FILE = 'dev-pii-key';
const DEV_OPERATOR_KEY_FILE = 'dev-operator-key.pem';

export type KeyringSettings = Pick<
  Config,
  | 'PII_HMAC_KEY'
  | 'PII_KEY_FILE'
  | 'PII_KMS_WRAPPED_KEY'
  | 'KMS_ENDPOINT'
  | 'AWS_REGION'
  | 'LOGIN_ETL_DATA_DIR'
  | 'NODE_ENV'
  | 'LOGIN_ETL_DEV_KEYS'
  | 'servicesAreLocal'
>;

/**
 * Development keys (generated once under the data directory) only where no real data can be: the explicit switch,
 * or a process of the local stack (Postgres and SQS on this machine) outside production. Anywhere else a missing
 * key is an error, so a production pod without its secret stops instead of minting a key it will lose on its next
 * reschedule.
 */
export const developmentKeysAllowed = (
  config: Pick<KeyringSettings, 'NODE_ENV' | 'LOGIN_ETL_DEV_KEYS' | 'servicesAreLocal'>,
) => config.LOGIN_ETL_DEV_KEYS === true || (config.NODE_ENV !== 'production' && config.servicesAreLocal);

const WHY_NOT_DEVELOPMENT =
  'development keys are only for the local stack (Postgres and SQS on this machine, NODE_ENV not production) or with LOGIN_ETL_DEV_KEYS=true';

/**
 * Bound to every secret KMS wraps: KMS refuses to unwrap it for another purpose, and a key policy can grant each
 * purpose to its own principals (workers: the root; operators: their private key; the codec server: its key).
 */
type WrappedPurpose = 'pii-root-key' | 'operator-private-key' | 'temporal-codec-key';
const encryptionContext = (purpose: WrappedPurpose) => ({ application: 'login-etl', purpose });

/**
 * The keyring from its root secret, from exactly one source: a data key wrapped by a KMS key
 * (PII_KMS_WRAPPED_KEY, unwrapped by KMS Decrypt at start, so the root never rests in clear), PII_HMAC_KEY, the
 * file PII_KEY_FILE names, or else, where allowed, a development key generated once under the data directory.
 */
export async function loadKeyring(config: KeyringSettings): Promise<Keyring> {
  if (config.PII_KMS_WRAPPED_KEY) {
    return createKeyring(await unwrap(config, config.PII_KMS_WRAPPED_KEY, 'pii-root-key', 'PII_KMS_WRAPPED_KEY'));
  }
  if (config.PII_HMAC_KEY) return passphraseKeyring(config.PII_HMAC_KEY, 'PII_HMAC_KEY');
  if (config.PII_KEY_FILE) {
    return passphraseKeyring(readFileSync(config.PII_KEY_FILE, 'utf8').trim(), 'PII_KEY_FILE');
  }
  if (!developmentKeysAllowed(config)) {
    throw new ConfigError(
      `no PII root key: set PII_HMAC_KEY, PII_KEY_FILE or PII_KMS_WRAPPED_KEY (${WHY_NOT_DEVELOPMENT})`,
    );
  }
  const file = path.join(config.LOGIN_ETL_DATA_DIR, DEV_KEY_FILE);
  log.warn('no PII root key is set: using the development key; set one in production', { file });
  return createKeyring(
    Buffer.from(readOrCreateDevFile(file, () => randomBytes(32).toString('hex') + '\n').trim(), 'utf8'),
  );
}

/** A root given as text: refused when it looks typed by hand (core/root-strength.ts), never echoed. */
function passphraseKeyring(secret: string, setting: 'PII_HMAC_KEY' | 'PII_KEY_FILE'): Keyring {
  const bits = rootStrengthBits(secret);
  if (bits < MIN_ROOT_STRENGTH_BITS) {
    throw new ConfigError(
      `invalid setting ${setting}: the root looks guessable (about ${bits} bits by a rough count of its repeats, ` +
        `runs and kinds of characters; ${MIN_ROOT_STRENGTH_BITS} needed): make one with \`openssl rand -hex 32\``,
    );
  }
  return createKeyring(Buffer.from(secret, 'utf8'));
}

export type OperatorKeySettings = Pick<
  Config,
  'PII_VAULT_PUBLIC_KEY' | 'PII_VAULT_PRIVATE_KEY_FILE' | 'PII_VAULT_PRIVATE_KEY_KMS_WRAPPED'
> &
  KeyringSettings;

/** The operator key pair of the local stack, made once with the development root key. */
const devOperatorKey = (config: KeyringSettings) =>
  parseOperatorPrivateKey(
    readOrCreateDevFile(
      path.join(config.LOGIN_ETL_DATA_DIR, DEV_OPERATOR_KEY_FILE),
      () => generateOperatorKeyPair().privateKeyPem,
    ),
  );

/** What workers seal vault values and quarantined bodies to: PII_VAULT_PUBLIC_KEY, or the development pair's. */
export function loadOperatorPublicKey(config: OperatorKeySettings): OperatorPublicKey {
  if (config.PII_VAULT_PUBLIC_KEY) return parseOperatorPublicKey(config.PII_VAULT_PUBLIC_KEY);
  if (!developmentKeysAllowed(config)) {
    throw new ConfigError(
      `no operator public key: set PII_VAULT_PUBLIC_KEY (npm run pii -- new-operator-key makes a pair; ${WHY_NOT_DEVELOPMENT})`,
    );
  }
  return devOperatorKey(config).publicKey;
}

/** What a worker holds: the root (tokens, codec) and the operator's public key (sealing only). */
export interface WorkerKeys {
  keyring: Keyring;
  sealTo: OperatorPublicKey;
}

export async function loadWorkerKeys(config: OperatorKeySettings): Promise<WorkerKeys> {
  const keyring = await loadKeyring(config);
  return { keyring, sealTo: loadOperatorPublicKey(config) };
}

/** What an operator holds to open the vault: the private key, and the root for what was sealed before 0.4.0. */
export async function loadOpeningKeys(config: OperatorKeySettings): Promise<OpeningKeys> {
  const operator = await loadOperatorPrivateKey(config);
  return { operator, keyring: await loadKeyring(config) };
}

/**
 * What opens the vault (reveal, rotate): the file PII_VAULT_PRIVATE_KEY_FILE names, the key KMS unwraps from
 * PII_VAULT_PRIVATE_KEY_KMS_WRAPPED, or the development pair's.
 */
export async function loadOperatorPrivateKey(config: OperatorKeySettings): Promise<OperatorPrivateKey> {
  if (config.PII_VAULT_PRIVATE_KEY_FILE) {
    return parseOperatorPrivateKey(readFileSync(config.PII_VAULT_PRIVATE_KEY_FILE, 'utf8'));
  }
  if (config.PII_VAULT_PRIVATE_KEY_KMS_WRAPPED) {
    const pem = await unwrap(
      config,
      config.PII_VAULT_PRIVATE_KEY_KMS_WRAPPED,
      'operator-private-key',
      'PII_VAULT_PRIVATE_KEY_KMS_WRAPPED',
    );
    return parseOperatorPrivateKey(pem.toString('utf8'));
  }
  if (config.PII_VAULT_PUBLIC_KEY || !developmentKeysAllowed(config)) {
    throw new ConfigError(
      'no operator private key: set PII_VAULT_PRIVATE_KEY_FILE or PII_VAULT_PRIVATE_KEY_KMS_WRAPPED (new-operator-key)',
    );
  }
  return devOperatorKey(config);
}

const kmsClient = (config: Pick<Config, 'KMS_ENDPOINT' | 'AWS_REGION'>) =>
  new KMSClient(awsClientSettings(config.KMS_ENDPOINT, config.AWS_REGION));

/** A secret KMS wrapped for `purpose`, unwrapped by KMS Decrypt; `setting` names where it came from. */
async function unwrap(
  config: Pick<Config, 'KMS_ENDPOINT' | 'AWS_REGION'>,
  wrapped: string,
  purpose: WrappedPurpose,
  setting: string,
): Promise<Buffer> {
  const kms = kmsClient(config);
  try {
    const { Plaintext } = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(wrapped, 'base64'),
        EncryptionContext: encryptionContext(purpose),
      }),
    );
    if (!Plaintext) throw new Error('KMS returned no plaintext');
    return Buffer.from(Plaintext);
  } catch (error) {
    throw new Error(`cannot unwrap ${setting} with KMS: ${(error as Error).message}`, { cause: error });
  } finally {
    kms.destroy();
  }
}

/** A secret made here, wrapped by KMS Encrypt under the given KMS key for `purpose`: only the wrapped form is kept. */
export async function wrapWithKms(
  config: Pick<Config, 'KMS_ENDPOINT' | 'AWS_REGION'>,
  kmsKeyId: string,
  secret: Buffer,
  purpose: Exclude<WrappedPurpose, 'pii-root-key'>,
): Promise<string> {
  const kms = kmsClient(config);
  try {
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: kmsKeyId, Plaintext: secret, EncryptionContext: encryptionContext(purpose) }),
    );
    if (!CiphertextBlob) throw new Error('KMS returned no wrapped key');
    return Buffer.from(CiphertextBlob).toString('base64');
  } finally {
    kms.destroy();
  }
}

/** The codec server's key: CODEC_KEY_FILE, or CODEC_KMS_WRAPPED_KEY unwrapped by KMS; undefined when neither is set. */
export async function loadCodecKeyBytes(
  config: Pick<Config, 'CODEC_KEY_FILE' | 'CODEC_KMS_WRAPPED_KEY' | 'KMS_ENDPOINT' | 'AWS_REGION'>,
): Promise<Buffer | undefined> {
  // Either way the key is kept as hex text, as export-codec-key writes it.
  const hex = config.CODEC_KEY_FILE
    ? readFileSync(config.CODEC_KEY_FILE, 'utf8')
    : config.CODEC_KMS_WRAPPED_KEY
      ? (await unwrap(config, config.CODEC_KMS_WRAPPED_KEY, 'temporal-codec-key', 'CODEC_KMS_WRAPPED_KEY')).toString()
      : undefined;
  return hex === undefined ? undefined : Buffer.from(hex.trim(), 'hex');
}

/**
 * The key a Temporal client needs (it encodes and decodes payloads), and no more: the codec key alone when
 * CODEC_KEY_FILE or CODEC_KMS_WRAPPED_KEY gives it, so `start-workflow`, `control` and `schedule` can run without
 * the PII root; otherwise the root's codec key, for a process that holds the root anyway (the local stack).
 */
export async function loadClientKeys(config: KeyringSettings & Parameters<typeof loadCodecKeyBytes>[0]) {
  const bytes = await loadCodecKeyBytes(config);
  return { codec: bytes ? codecKeyFromBytes(bytes) : (await loadKeyring(config)).codec };
}

const CODEC_KEY_HEX = /^[0-9a-f]{64}$/i;

/**
 * The codec keys of roots replaced by `pii rotate-root`, from CODEC_PREVIOUS_KEY_FILE (one per line, hex, as
 * export-codec-key writes them): they decode what Temporal kept from before the move (a paused drain's history, a
 * schedule's arguments) and encode nothing. They open no vault value and match no token: only Temporal payloads.
 */
export function loadPreviousCodecKeys(config: Pick<Config, 'CODEC_PREVIOUS_KEY_FILE'>): VersionedKey[] {
  const file = config.CODEC_PREVIOUS_KEY_FILE;
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `invalid setting CODEC_PREVIOUS_KEY_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  return text.split('\n').flatMap((line, index) => {
    const hex = line.trim();
    if (hex === '') return [];
    if (!CODEC_KEY_HEX.test(hex)) {
      throw new ConfigError(
        `invalid setting CODEC_PREVIOUS_KEY_FILE: line ${index + 1} of ${file} is not a codec key (64 hex digits, as export-codec-key writes)`,
      );
    }
    return [codecKeyFromBytes(Buffer.from(hex, 'hex'))];
  });
}

/** A new 256-bit root generated by KMS under the given KMS key; only its wrapped form leaves KMS. */
export async function generateWrappedRootKey(
  config: Pick<Config, 'KMS_ENDPOINT' | 'AWS_REGION'>,
  kmsKeyId: string,
): Promise<string> {
  const kms = kmsClient(config);
  try {
    const { CiphertextBlob } = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: kmsKeyId,
        KeySpec: 'AES_256',
        EncryptionContext: encryptionContext('pii-root-key'),
      }),
    );
    if (!CiphertextBlob) throw new Error('KMS returned no wrapped key');
    return Buffer.from(CiphertextBlob).toString('base64');
  } finally {
    kms.destroy();
  }
}

function readOrCreateDevFile(file: string, create: () => string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  // Written aside and linked into place: of several processes starting at once, one key wins, whole.
  const candidate = `${file}.${process.pid}.tmp`;
  writeFileSync(candidate, create(), { mode: 0o600 });
  try {
    linkSync(candidate, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(candidate);
  }
  return readFileSync(file, 'utf8');
}
