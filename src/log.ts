type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Fields that may hold a raw value from a message; they never reach a log line. */
const REDACTED_FIELDS = new Set(['ip', 'device_id', 'deviceId', 'body', 'event', 'messages', 'rows']);

// Read here rather than from the config, so that a line can be logged before (or about) a bad setting.
const threshold = LEVELS[(process.env.LOG_LEVEL as Level | undefined) ?? 'info'] ?? LEVELS.info;

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

export function formatFields(fields: LogFields = {}): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${REDACTED_FIELDS.has(key) ? '[redacted]' : formatValue(value)}`)
    .join(' ');
}

/** One line per event on stderr, prefixed with the component, so the stack's output reads by component. */
export function createLogger(component: string, write: (line: string) => void = (line) => process.stderr.write(line)) {
  const log =
    (level: Level) =>
    (message: string, fields?: LogFields): void => {
      if (LEVELS[level] < threshold) return;
      const rest = formatFields(fields);
      const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
      write(`[${component}] ${tag}${message}${rest ? ` ${rest}` : ''}\n`);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } satisfies Logger;
}
