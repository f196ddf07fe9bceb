/** Shared set-up for resolver tests: scripted servers on 127.0.0.x sharing one port, and client queries. */
import { createRegistry } from '../../../src/metrics.js';
import { Resolver } from '../../../src/dns/resolver/resolver.js';
import type { ResolverOptions, RootHints } from '../../../src/dns/resolver/options.js';
import type { Message, RecordType } from '../../../src/dns/types.js';
import { startResponder, type Responder, type Script } from './responder.js';

/**
 * Starts one responder per address, all on the same port (referrals carry addresses only, so the
 * resolver dials every server on one configured port). Retries with a new port if one is taken.
 */
export async function startServers(scripts: Record<string, Script>): Promise<{ port: number; servers: Record<string, Responder>; close(): Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const entries = Object.entries(scripts);
    const servers: Record<string, Responder> = {};
    try {
      const [firstHost, firstScript] = entries[0]!;
      servers[firstHost] = await startResponder(firstScript, firstHost);
      const port = servers[firstHost]!.port;
      for (const [host, script] of entries.slice(1)) servers[host] = await startResponder(script, host, port);
      return { port, servers, close: async () => void (await Promise.all(Object.values(servers).map((s) => s.close()))) };
    } catch (err) {
      await Promise.all(Object.values(servers).map((s) => s.close()));
      if (attempt >= 5) throw err;
    }
  }
}

export function hintsFor(address: string): RootHints {
  return { nameServers: ['a.root-servers.test'], addresses: new Map([['a.root-servers.test', [address]]]) };
}

export function makeResolver(options: Partial<ResolverOptions> & { rootHints: RootHints; upstreamPort: number }): Resolver {
  // Generous per-try timeouts: dead servers in these tests fail fast (ICMP unreachable) and a loaded
  // CI machine must not turn a slow reply into a failure.
  // No root priming by default: the scripted roots here are not real roots and the tests count their
  // queries; priming has tests of its own that turn it on.
  return new Resolver({ tryTimeoutMs: 1_000, totalTimeoutMs: 5_000, primeRoot: false, ...options }, createRegistry());
}

let nextId = 1;
export function clientQuery(name: string, type: RecordType = 'A'): Message {
  return {
    id: nextId++ & 0xffff,
    opcode: 'QUERY',
    rcode: 0,
    flags: { qr: false, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false },
    questions: [{ name, type, class: 'IN' }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}
