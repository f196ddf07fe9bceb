/**
 * A small leveled logger: one line per event on stderr, `time LEVEL component: message key=value`.
 * DNSCDN_LOG=debug|info|warn|error|silent sets the level (tests run with warn).
 * Values are printed with JSON quoting so that a hostile name cannot forge a log line.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

function levelFromEnv(): LogLevel {
  const v = process.env.DNSCDN_LOG;
  return v !== undefined && v in LEVELS ? (v as LogLevel) : 'info';
}

let threshold: number = LEVELS[levelFromEnv()];

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

export type LogFields = Record<string, string | number | boolean | bigint | null | undefined>;

/** ` key=value` pairs as every log line prints them (also the query log's, src/dns/query-log.ts). */
export function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = typeof v === 'string' && /^[\w.:/\-[\]@*]+$/.test(v) ? v : JSON.stringify(typeof v === 'bigint' ? v.toString() : v);
    out += ` ${k}=${s}`;
  }
  return out;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function logger(component: string): Logger {
  const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${component}: ${msg}${formatFields(fields)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
