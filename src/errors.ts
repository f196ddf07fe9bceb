/**
 * Protocol and configuration errors carry the result they turn into on the wire.
 * One catch at each server boundary converts them (STYLE: "Protocol errors carry their wire result");
 * anything else thrown there becomes SERVFAIL / 502 and is logged as a bug.
 */

/** DNS response codes we produce, by their RFC 1035 / RFC 6891 names. */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'BADVERS';

export class DnsError extends Error {
  constructor(
    readonly rcode: Rcode,
    message: string,
  ) {
    super(message);
    this.name = 'DnsError';
  }
}

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
