/**
 * What we learned about upstream servers (after Unbound's infra cache): a server that timed out or was
 * unreachable is tried last for a while, so one dead server among several does not cost every client
 * query a timeout; and a server that does not speak EDNS is asked without OPT. Bounded by entries; a
 * failure is forgotten when it expires or the server answers.
 */
import { LRUCache } from 'lru-cache';
import type { ServerAddress } from './options.js';

export interface ServerHealthOptions {
  maxEntries: number;
  /** How long a failed server stays at the back of the line (ms). */
  holdDownMs: number;
  /** How long a server that rejected EDNS is asked without it (ms). */
  ednsMemoryMs: number;
  now: () => number;
}

export class ServerHealth {
  private readonly failedUntil: LRUCache<string, number>;
  /** Servers that rejected EDNS (RFC 6891 §7), until when we ask them without OPT. */
  private readonly plainDnsUntil: LRUCache<string, number>;

  constructor(private readonly options: ServerHealthOptions) {
    this.failedUntil = new LRUCache<string, number>({ max: options.maxEntries });
    this.plainDnsUntil = new LRUCache<string, number>({ max: options.maxEntries });
  }

  /** Remembers that a server answered only once asked without OPT; forgotten after `ednsMemoryMs`. */
  rejectsEdns(server: ServerAddress): void {
    this.plainDnsUntil.set(key(server), this.options.now() + this.options.ednsMemoryMs);
  }

  /** Whether to send OPT to this server: yes unless it recently rejected EDNS (so software upgrades get noticed). */
  usesEdns(server: ServerAddress): boolean {
    const until = this.plainDnsUntil.get(key(server));
    return until === undefined || until <= this.options.now();
  }

  failed(server: ServerAddress): void {
    this.failedUntil.set(key(server), this.options.now() + this.options.holdDownMs);
  }

  answered(server: ServerAddress): void {
    this.failedUntil.delete(key(server));
  }

  isSuspect(server: ServerAddress): boolean {
    const until = this.failedUntil.get(key(server));
    return until !== undefined && until > this.options.now();
  }

  /** The same servers, those without recent failures first (stable within each group). */
  order(servers: ServerAddress[]): ServerAddress[] {
    return [...servers.filter((s) => !this.isSuspect(s)), ...servers.filter((s) => this.isSuspect(s))];
  }
}

function key(s: ServerAddress): string {
  return `${s.host}|${s.port}`;
}
