/**
 * Protocol and configuration errors carry the result they turn into on the wire.
 * One catch at each server boundary converts them (STYLE: "Protocol errors carry their wire result");
 * anything else thrown there becomes SERVFAIL / 502 and is logged as a bug. DNS has no error class:
 * its chain returns every rcode as a value (src/dns/chain.ts), so a throw there is always a bug.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Where in a file or document a configuration problem is: a line, a key path, or both. */
export interface SourcePosition {
  file: string;
  line?: number;
  key?: string;
}

/** A bad zone file, config file or command-line value. The message names the file, the line or key, and the reason. */
export class ConfigError extends Error {
  constructor(
    readonly position: SourcePosition,
    readonly reason: string,
  ) {
    super(`${formatPosition(position)}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export function formatPosition(p: SourcePosition): string {
  let where = p.file;
  if (p.line !== undefined) where += `:${p.line}`;
  if (p.key !== undefined) where += ` (${p.key})`;
  return where;
}
