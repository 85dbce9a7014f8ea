import type { z } from 'zod';
import { encodeAppVersion } from './app-version';
import { loginEventSchema, type LoginEvent } from './login-event';

export type ValidationResult = { ok: true; event: LoginEvent; appVersion: number } | { ok: false; reason: string };

/** How many field problems a quarantine reason lists before it says "and N more". */
const MAX_REASONS = 3;

/**
 * Turns one SQS message body into a login event, or into a readable reason why it cannot be one.
 * Reasons name fields and types only, never values: a body may carry a raw ip or device_id.
 */
export function validateLoginMessage(body: string): ValidationResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // JSON.parse's own message quotes the body, so it must not become the reason.
    return { ok: false, reason: 'body is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: `body is JSON ${describeType(parsed)}, not an object` };
  }
  const result = loginEventSchema.safeParse(parsed);
  if (!result.success) return { ok: false, reason: describeIssues(result.error.issues, parsed) };
  const appVersion = encodeAppVersion(result.data.app_version);
  if (!appVersion.ok) return { ok: false, reason: appVersion.reason };
  return { ok: true, event: result.data, appVersion: appVersion.value };
}

function describeIssues(issues: z.core.$ZodIssue[], input: object): string {
  const described = issues.slice(0, MAX_REASONS).map((issue) => {
    const field = issue.path.join('.');
    if (issue.code !== 'invalid_type') return `${field} ${issue.message}`;
    const value = valueAt(input, issue.path);
    return value === undefined
      ? `${field} is missing`
      : `${field} must be a ${issue.expected}, not ${describeType(value)}`;
  });
  const more = issues.length > MAX_REASONS ? ` (and ${issues.length - MAX_REASONS} more)` : '';
  return described.join('; ') + more;
}

function valueAt(input: object, path: PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
