import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { PII_FIELDS, type PiiField } from '../core/canonical-pii';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { forget } from '../pii/forget';
import type { TokenSelector } from '../pii/lookup';
import { reveal } from '../pii/reveal';
import { rotate } from '../pii/rotate';
import { piiStatus } from '../pii/status';
import { loadKeyring } from '../secrets';
import { runMain } from './run-main';

const USAGE = `usage: npm run pii -- <command> [options]
  reveal  (--token T [--field ip|device_id] | --message-id M [--field ip|device_id]) --reason "…" [--actor NAME] [--json]
          prints the value behind a token; writes an audit row first
  forget  (--token T [--field ip|device_id] | --message-id M [--field ip|device_id]) --reason "…" [--actor NAME] [--json]
          erases the value behind a token (crypto-shredding); the audit row remains
  rotate  [--reason "…"] [--actor NAME] [--json]
          a new key version for new data; re-keys the vault, the rows' tokens and the quarantined bodies
          (an interrupted rotation is finished by the next one)
  status  [--json]
          active key version, vault entries per version, pending re-keys, erasures, audit rows
The actor defaults to PII_OPERATOR, then the login name.`;

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      token: { type: 'string' },
      field: { type: 'string' },
      'message-id': { type: 'string' },
      reason: { type: 'string' },
      actor: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  if (extra.length) throw new Error(`unexpected argument ${extra[0]}`);
  const config = loadConfig();
  const actor = values.actor ?? config.PII_OPERATOR ?? userInfo().username;
  const pool = createPool(config, 2);
  try {
    await migrate(pool);
    const print = (text: string, json: unknown) =>
      process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
    switch (command) {
      case 'reveal': {
        const results = await reveal(pool, await loadKeyring(config), {
          ...selector(values),
          actor,
          reason: reason(values),
        });
        const single = results.length === 1;
        for (const result of results) {
          const label = single ? '' : `${result.field}\t`;
          if (result.status === 'revealed') {
            if (!values.json) process.stdout.write(`${label}${result.value}\n`);
          } else {
            process.stderr.write(`login-etl: ${result.field} of that token: ${describeMissing(result)}\n`);
          }
        }
        if (values.json)
          print('', Object.fromEntries(results.map((r) => [r.field, r.status === 'revealed' ? r.value : null])));
        return results.every((r) => r.status === 'revealed') ? 0 : 1;
      }
      case 'forget': {
        const results = await forget(pool, { ...selector(values), actor, reason: reason(values) });
        print(
          results.map((r) => `${r.field}: ${r.status} (audit #${r.auditId})`).join('\n'),
          results.map(({ field, token, status, auditId }) => ({ field, token, status, auditId })),
        );
        return results.some((r) => r.status === 'unknown') ? 1 : 0;
      }
      case 'rotate': {
        const report = await rotate(pool, await loadKeyring(config), {
          actor,
          reason: values.reason ?? 'key rotation',
        });
        print(
          `${report.resumed ? 'finished the interrupted rotation' : 'rotated'} from key version ${report.fromVersion} ` +
            `to ${report.toVersion}: ${report.vaultEntries} vault entries re-keyed (${report.merged} merged with new ` +
            `data), ${report.rowTokens.ip} masked_ip and ${report.rowTokens.device_id} masked_device_id tokens ` +
            `re-indexed, ${report.quarantinedBodies} quarantined bodies sealed anew`,
          report,
        );
        return 0;
      }
      case 'status': {
        const status = await piiStatus(pool);
        print(
          [
            `active key version: v${status.activeVersion} (root key fingerprint ${status.rootFingerprint ?? 'not yet recorded'})`,
            `vault entries: ${
              Object.entries(status.vaultEntriesByVersion)
                .map(([v, n]) => `${n} under ${v}`)
                .join(', ') || 'none'
            }`,
            `pending rotation: ${status.pendingRotation}`,
            `erasures: ${status.erasures}`,
            `audit rows: ${status.auditRows}`,
          ].join('\n'),
          status,
        );
        return 0;
      }
      default:
        throw new Error(`unknown command ${command}; see npm run pii -- --help`);
    }
  } finally {
    await pool.end();
  }
});

type Values = { token?: string; field?: string; 'message-id'?: string; reason?: string };

function selector(values: Values): TokenSelector {
  let field: PiiField | undefined;
  if (values.field !== undefined) {
    if (!PII_FIELDS.includes(values.field as PiiField))
      throw new Error(`--field must be one of ${PII_FIELDS.join(', ')}`);
    field = values.field as PiiField;
  }
  const messageId = values['message-id'];
  if ((values.token === undefined) === (messageId === undefined))
    throw new Error('give one of --token and --message-id');
  return values.token !== undefined ? { token: values.token, field } : { messageId: messageId!, field };
}

function reason(values: Values): string {
  if (!values.reason?.trim()) throw new Error('--reason is required: say why, it is kept in the audit trail');
  return values.reason;
}

function describeMissing(result: { status: 'forgotten'; forgottenAt: Date } | { status: 'unknown' }): string {
  return result.status === 'forgotten'
    ? `the value was forgotten on ${result.forgottenAt.toISOString()} and cannot be recovered`
    : 'no value is kept for it';
}
