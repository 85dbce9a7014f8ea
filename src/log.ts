import ipaddr from 'ipaddr.js';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Fields that may hold a raw value from a message, whole or in part; they never reach a log line. */
const REDACTED_FIELDS = new Set([
  'ip',
  'device_id',
  'deviceId',
  'body',
  'event',
  'message_body',
  'messages',
  'rows',
  'row',
  'value',
  'values',
  'vault',
  'payload',
  'payloads',
  'data',
  'detail',
]);
const REDACTED = '[redacted]';

/** The local stack's own endpoints, which are no one's personal data and make logs readable. */
const ENDPOINT_ADDRESSES = new Set(['127.0.0.1', '0.0.0.0', '::1', '::']);
// Bounded by what cannot continue an address, so `ip_10.0.0.1`, `x10.0.0.1` and a sentence's final `.` still match.
const IPV4_CANDIDATE = /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)/g;
const IPV6_CANDIDATE =
  /(?<![0-9A-Fa-f:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?:%\w+)?(?![0-9A-Fa-f:])/g;

/** Four decimal parts of 0–255, zero-padded or not (`010.001.002.003` is an address to many parsers). */
const isIpv4 = (value: string) => ipaddr.IPv4.isValidFourPartDecimal(value.replace(/(^|\.)0+(?=\d)/g, '$1'));

/**
 * Anything in free text that parses as an IP address is replaced, so a raw ip that reaches a message (a library's
 * error, a server's line) does not reach the log. device_id has no shape to find; it is kept out by field name.
 */
export function scrub(text: string): string {
  const replace = (isValid: (value: string) => boolean) => (candidate: string) =>
    isValid(candidate) && !ENDPOINT_ADDRESSES.has(candidate) ? '[ip]' : candidate;
  return text
    .replace(
      IPV6_CANDIDATE,
      replace((value) => ipaddr.IPv6.isValid(value)),
    )
    .replace(IPV4_CANDIDATE, replace(isIpv4));
}

/** A database error quotes the value it refused; only its SQLSTATE and the text around the quotes are kept. */
function describeError(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  const message = sqlState ? error.message.replace(/"[^"]*"|'[^']*'/g, '"[redacted]"') : error.message;
  return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: scrub(message) };
}

function safeValue(key: string, value: unknown): unknown {
  if (REDACTED_FIELDS.has(key)) return REDACTED;
  if (value instanceof Error) return describeError(value);
  if (typeof value === 'string') return scrub(value);
  if (value !== null && typeof value === 'object') {
    // Objects and arrays are redacted field by field, so a nested `ip` is caught as well.
    return JSON.parse(JSON.stringify(value, (k, v: unknown) => (k === '' ? v : safeValue(k, v))));
  }
  return value;
}

export function redactFields(fields: LogFields = {}): LogFields {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, safeValue(key, value)]),
  );
}

function formatText(value: unknown): string {
  if (typeof value === 'string') return /^[\w.:/@+[\]-]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

export function formatFields(fields: LogFields = {}): string {
  return Object.entries(redactFields(fields))
    .map(([key, value]) => `${key}=${formatText(value)}`)
    .join(' ');
}

type Sink = (line: string) => void;
const sinks = new Set<Sink>();

/** Another place every log line goes (the tests keep the stack's log in a file); returns its removal. */
export function addLogSink(sink: Sink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

// Read here rather than from the config, so that a line can be logged before (or about) a bad setting.
const threshold = LEVELS[(process.env.LOG_LEVEL as LogLevelName | undefined) ?? 'info'] ?? LEVELS.info;
const json = process.env.LOG_FORMAT === 'json';

/**
 * Structured log lines on stderr: text (`[component] LEVEL message key=value`) for people, or with LOG_FORMAT=json
 * one JSON object per line for a log pipeline. Every field is redacted the same way in both.
 */
export function createLogger(component: string, write: Sink = (line) => process.stderr.write(line)): Logger {
  const log =
    (level: LogLevelName) =>
    (message: string, fields?: LogFields): void => {
      if (LEVELS[level] < threshold) return;
      let line: string;
      if (json) {
        const record = { time: new Date().toISOString(), level, component, msg: scrub(message) };
        line = `${JSON.stringify({ ...redactFields(fields), ...record })}\n`;
      } else {
        const rest = formatFields(fields);
        const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
        line = `[${component}] ${tag}${scrub(message)}${rest ? ` ${rest}` : ''}\n`;
      }
      write(line);
      for (const sink of sinks) sink(line);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
