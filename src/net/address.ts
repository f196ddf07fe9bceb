import { isIP } from 'node:net';

/** A listen or connect address: `127.0.0.1:5353`, `[::1]:5353`, or `localhost:80`. */
export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port` / `[v6]:port`. A missing port takes `defaultPort`; anything malformed throws with the input named. */
export function parseHostPort(input: string, defaultPort?: number): HostPort {
  const s = input.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(s) === 6) {
    host = s; // a bare IPv6 address has no port
  } else {
    const i = s.lastIndexOf(':');
    host = i < 0 ? s : s.slice(0, i);
    portText = i < 0 ? undefined : s.slice(i + 1);
  }
  if (host === '') throw new Error(`bad address "${input}": empty host`);
  let port: number;
  if (portText === undefined || portText === '') {
    if (defaultPort === undefined) throw new Error(`bad address "${input}": missing port`);
    port = defaultPort;
  } else {
    if (!/^\d+$/.test(portText)) throw new Error(`bad address "${input}": port is not a number`);
    port = Number(portText);
  }
  if (port < 0 || port > 65535) throw new Error(`bad address "${input}": port out of range`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
