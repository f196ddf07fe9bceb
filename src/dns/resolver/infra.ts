/**
 * What we learned about upstream servers (after Unbound's infra cache): a server that timed out or was
 * unreachable is tried last for a while, so one dead server among several does not cost every client
 * query a timeout. Bounded by entries; an entry is forgotten when it expires or the server answers.
 */
import { LRUCache } from 'lru-cache';
import type { ServerAddress } from './options.js';

export interface ServerHealthOptions {
  maxEntries: number;
  /** How long a failed server stays at the back of the line (ms). */
  holdDownMs: number;
  now: () => number;
}

export class ServerHealth {
  private readonly failedUntil: LRUCache<string, number>;

  constructor(private readonly options: ServerHealthOptions) {
    this.failedUntil = new LRUCache<string, number>({ max: options.maxEntries });
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
