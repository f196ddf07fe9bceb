/**
 * What a role child tells its supervisor over the IPC channel. One message today: "ready", sent once the
 * role has bound every listener, with the addresses it bound (the real ones, port 0 resolved).
 */
export interface ReadyMessage {
  type: 'dnscdn:ready';
  /** `udp+tcp 127.0.0.1:5353`, `http://127.0.0.11:8080`, ... */
  listening: string[];
}

export type ChildMessage = ReadyMessage;

/** Marks a child started by `dnscdn up`: only then does it talk on (and watch) its IPC channel. */
export const SUPERVISED_ENV = 'DNSCDN_SUPERVISOR';
export const SUPERVISED_VALUE = 'ipc';

/** A message from a child, checked; anything else (a stray or foreign message) is undefined. */
export function parseChildMessage(v: unknown): ChildMessage | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as { type?: unknown; listening?: unknown };
  if (m.type !== 'dnscdn:ready' || !Array.isArray(m.listening)) return undefined;
  const listening = m.listening.filter((x): x is string => typeof x === 'string');
  return { type: 'dnscdn:ready', listening };
}
