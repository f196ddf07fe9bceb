/**
 * The loopback DNS hierarchy of test/fixtures/resolver, built from instances of our own authoritative
 * server: root 127.0.0.53, TLD test. 127.0.0.54, example.test (+ lame.test) 127.0.0.55, other.test
 * 127.0.0.56, and a lame server for lame.test on 127.0.0.57. All listen on one port, because referrals
 * carry only addresses and the resolver dials every server on its configured upstream port.
 */
import { startDnsServer, type DnsServer } from '../../../src/dns/server.js';

export const FIXTURES = 'test/fixtures/resolver';
export const HINTS_FILE = `${FIXTURES}/named.root`;

export const SERVERS = {
  root: { host: '127.0.0.53', zones: `${FIXTURES}/root` },
  tld: { host: '127.0.0.54', zones: `${FIXTURES}/tld` },
  example: { host: '127.0.0.55', zones: `${FIXTURES}/example` },
  other: { host: '127.0.0.56', zones: `${FIXTURES}/other` },
  lame: { host: '127.0.0.57', zones: `${FIXTURES}/tld` },
} as const;
export type ServerName = keyof typeof SERVERS;

export interface Hierarchy {
  port: number;
  servers: Record<ServerName, DnsServer>;
  /** Stops one server (e.g. to test serve-stale); close() skips stopped ones. */
  stop(name: ServerName): Promise<void>;
  close(): Promise<void>;
}

export async function startHierarchy(): Promise<Hierarchy> {
  for (let attempt = 0; ; attempt++) {
    const started: Partial<Record<ServerName, DnsServer>> = {};
    try {
      let port = 0;
      for (const [name, s] of Object.entries(SERVERS) as Array<[ServerName, (typeof SERVERS)[ServerName]]>) {
        const server = await startDnsServer({ zonesDir: s.zones, watchZones: false, listen: [{ host: s.host, port }] });
        started[name] = server;
        port = server.addresses[0]!.port;
      }
      const servers = started as Record<ServerName, DnsServer>;
      const stopped = new Set<ServerName>();
      const stop = async (name: ServerName): Promise<void> => {
        if (stopped.has(name)) return;
        stopped.add(name);
        await servers[name].close();
      };
      return { port, servers, stop, close: async () => void (await Promise.all((Object.keys(servers) as ServerName[]).map(stop))) };
    } catch (err) {
      // The port chosen for the root was taken on another 127.0.0.x address: try another.
      await Promise.all(Object.values(started).map((s) => s.close()));
      if (attempt >= 5) throw err;
    }
  }
}

/** Queries each server has answered (all handlers), to assert that the cache kept traffic away. */
export function queriesServed(h: Hierarchy): number {
  return Object.values(h.servers).reduce((n, s) => n + Object.values(s.stats.byHandler).reduce((a, b) => a + b, 0), 0);
}
