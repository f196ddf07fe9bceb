/**
 * A listener that could not bind, told apart from other start-up errors so that it is logged as what an operator
 * must act on (address, cause and the usual fix), in the log format in force, rather than as a bare message.
 */
import type { LogFields } from './log.js';

const HINTS: Record<string, string> = {
  EADDRINUSE: 'another process listens there (another dnscdn, or a system resolver on port 53)',
  EACCES: 'ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd units grant it)',
  EADDRNOTAVAIL: 'the address is not configured on this host',
};

export function bindFailure(err: unknown): LogFields | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if ((e.syscall !== 'listen' && e.syscall !== 'bind') || e.code === undefined || !Object.hasOwn(HINTS, e.code)) return undefined;
  const address = e.address === undefined ? undefined : e.address.includes(':') ? `[${e.address}]:${e.port ?? ''}` : `${e.address}:${e.port ?? ''}`;
  return { address, code: e.code, hint: HINTS[e.code], error: e.message };
}
