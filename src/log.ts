/**
 * A small leveled logger: one line per event on stderr.
 * - `text` (default): `time LEVEL component: message key=value`, values JSON-quoted when they are not plain words,
 *   so that a hostile name cannot forge a log line;
 * - `json`: one JSON object per line, `{"time","level","component","msg",...fields}`, for journald or a log shipper.
 *
 * Where the settings come from, the first that gives one wins: `--log-format` / `--log-level` (every command),
 * then the environment (`DNSCDN_LOG` for the level, `DNSCDN_LOG_FORMAT`), then the deployment file's
 * `log: { format, level }`, then text at info. Tests run with DNSCDN_LOG=warn, which a file cannot undo.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as readonly LogLevel[];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogSettings {
  format?: LogFormat | undefined;
  level?: LogLevel | undefined;
}

export function isLogLevel(v: string): v is LogLevel {
  return Object.hasOwn(LEVELS, v);
}

export function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
}

/** Settings from flags or the environment: a deployment file does not override them. */
const pinned: LogSettings = fromEnv(process.env);
let threshold: number = LEVELS[pinned.level ?? 'info'];
let format: LogFormat = pinned.format ?? 'text';

function fromEnv(env: NodeJS.ProcessEnv): LogSettings {
  const level = env.DNSCDN_LOG;
  const fmt = env.DNSCDN_LOG_FORMAT;
  return { level: level !== undefined && isLogLevel(level) ? level : undefined, format: fmt !== undefined && isLogFormat(fmt) ? fmt : undefined };
}

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

/**
 * Applies settings from the command line. They win over the environment and the file, and are exported to the
 * environment so that the processes `dnscdn up` starts log the same way.
 */
export function pinLogSettings(s: LogSettings): void {
  if (s.level !== undefined) {
    pinned.level = s.level;
    threshold = LEVELS[s.level];
    process.env.DNSCDN_LOG = s.level;
  }
  if (s.format !== undefined) {
    pinned.format = s.format;
    format = s.format;
    process.env.DNSCDN_LOG_FORMAT = s.format;
  }
}

/** Applies the deployment file's `log:` section where neither a flag nor the environment has spoken. */
export function applyFileLogSettings(s: LogSettings | undefined): void {
  if (s?.level !== undefined && pinned.level === undefined) threshold = LEVELS[s.level];
  if (s?.format !== undefined && pinned.format === undefined) format = s.format;
}

/** The format in force: commands print their one-line start-up summary as plain text only in `text`. */
export function logFormat(): LogFormat {
  return format;
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

type LineLevel = Exclude<LogLevel, 'silent'>;

/** One JSON record; the fixed keys come first and a field cannot replace them. */
export function jsonLine(time: string, level: LineLevel, component: string, msg: string, fields: LogFields | undefined): string {
  const record: Record<string, string | number | boolean | null> = { time, level, component, msg };
  if (fields)
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined || Object.hasOwn(record, k)) continue;
      record[k] = typeof v === 'bigint' ? v.toString() : v;
    }
  return `${JSON.stringify(record)}\n`;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function logger(component: string): Logger {
  const emit = (level: LineLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold) return;
    const time = new Date().toISOString();
    process.stderr.write(format === 'json' ? jsonLine(time, level, component, msg, fields) : `${time} ${level.toUpperCase()} ${component}: ${msg}${formatFields(fields)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/**
 * A role's start-up summary (`edge london listening on …`): in text it is the plain line on stdout that people
 * and scripts read; in json it is one `listening` record instead, so a log shipper sees no stray text line.
 */
export function announceListening(component: string, text: string, fields: LogFields): void {
  if (format === 'text') process.stdout.write(`${text}\n`);
  else logger(component).info('listening', fields);
}
