/**
 * The chaos run's clients, behaving as browsers behind a resolver do: each belongs to one client network
 * (an ECS subnet, as a resolver would send for it), resolves the pool name through dnscdn's DNS (the next name
 * server after a timeout), keeps the
 * answer for its TTL, and fetches a Zipf mix of URLs from the edge the DNS answered. After a refused or reset
 * connection, or a timeout, it asks the DNS again (bypassing its cached answer) and retries once on an address
 * other than the one that failed, as a browser tries another A record. Every request and every resolution is recorded with its time, for the report.
 */
import http from 'node:http';
import { ask, type ProbeAnswer } from '../dns/ask.js';
import type { ClientSubnet } from '../dns/types.js';
import type { HostPort } from '../net/address.js';
import { zipfSampler, type Random } from '../random.js';

export interface RequestSample {
  /** Milliseconds since the run started. */
  at: number;
  latencyMs: number;
  ok: boolean;
  /** The edge address the request finally went to. */
  address: string;
  /** Why it failed: HTTP status or error code. */
  error?: string;
  /**
   * The retry after a refused, reset or timed-out first attempt: to another address of a fresh answer, or none
   * because the fresh answer named only the address that failed.
   */
  retry: 'none' | 'other-address' | 'no-other-answer';
}

interface Attempt {
  ok: boolean;
  error?: string;
  /** Failed before any response: another address may serve it. */
  retryable: boolean;
}

/** Per name server; stub resolvers wait longer (glibc 5 s), but the run's clients stand for resolvers, which retry sooner. */
const DNS_TIMEOUT_MS = 1000;
const NO_ANSWER: Attempt = { ok: false, error: 'no-answer', retryable: true };
const RETRYABLE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'TIMEOUT', 'EHOSTUNREACH']);

export interface ResolutionSample {
  at: number;
  network: string;
  /** Empty when no name server answered. */
  addresses: string[];
  /** Name servers that gave no answer within the timeout before one did (or before all were tried). */
  unanswered: number;
}

export interface ClientOptions {
  /**
   * The pool's name servers (ns1, ns2, ...). Client i asks server i mod n first and, after DNS_TIMEOUT_MS without
   * an answer, the next, as a resolver moves to another of a zone's NS after a timeout.
   */
  dns: readonly HostPort[];
  pool: string;
  /** Client networks (CIDR), one per client in turn. */
  networks: readonly string[];
  /** Paths to ask for, most popular first (Zipf ranks). */
  paths: readonly string[];
  zipfAlpha: number;
  /** The port every edge serves on, by address. */
  edgePort: (address: string) => number | undefined;
  clients: number;
  random: Random;
  /** Pause between one client's requests: a steady offered load, not a flood. */
  thinkMs: number;
  requestTimeoutMs: number;
  now: () => number;
  onRequest(sample: RequestSample): void;
  onResolution(sample: ResolutionSample): void;
}

export class ChaosClients {
  private running = false;
  private loops: Array<Promise<void>> = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(private readonly o: ClientOptions) {}

  start(): void {
    this.running = true;
    const next = zipfSampler(this.o.paths.length, this.o.zipfAlpha, this.o.random);
    for (let i = 0; i < this.o.clients; i++) {
      const servers = this.o.dns.map((_, k) => this.o.dns[(i + k) % this.o.dns.length]!);
      this.loops.push(this.loop(this.o.networks[i % this.o.networks.length]!, servers, next));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  private async loop(network: string, servers: readonly HostPort[], nextRank: () => number): Promise<void> {
    const subnet = subnetOf(network);
    let cached: { addresses: string[]; expires: number } | undefined;
    const resolve = async (fresh: boolean): Promise<string[]> => {
      if (!fresh && cached && cached.expires > this.o.now()) return cached.addresses;
      let answer: ProbeAnswer | undefined;
      let unanswered = 0;
      for (const server of servers) {
        answer = await ask(server.host, server.port, this.o.pool, 'A', subnet, DNS_TIMEOUT_MS);
        if (answer !== undefined) break;
        unanswered++;
      }
      const addresses = answer?.data ?? [];
      this.o.onResolution({ at: this.o.now(), network, addresses, unanswered });
      cached = addresses.length > 0 ? { addresses, expires: this.o.now() + 1000 * (answer?.ttl ?? 0) } : undefined;
      return addresses;
    };
    while (this.running) {
      const path = this.o.paths[nextRank()]!;
      const started = this.o.now();
      let address = (await resolve(false))[0] ?? '';
      let result = address === '' ? NO_ANSWER : await this.fetch(address, path);
      let retry: RequestSample['retry'] = 'none';
      if (!result.ok && result.retryable) {
        // A browser tries the next address of the answer; here the answer is asked again (the edge may have left
        // it) and the retry goes to an address other than the one that failed. With none (a pool answering one
        // edge, which DNS still names), the request fails now: the same frozen edge would only time out again.
        const other = (await resolve(true)).find((a) => a !== address);
        if (other === undefined) retry = 'no-other-answer';
        else {
          retry = 'other-address';
          address = other;
          result = await this.fetch(address, path);
        }
      }
      const sample: RequestSample = { at: started, latencyMs: this.o.now() - started, ok: result.ok, address, retry };
      if (result.error !== undefined) sample.error = result.error;
      this.o.onRequest(sample);
      await new Promise((r) => setTimeout(r, this.o.thinkMs));
    }
  }

  private fetch(address: string, path: string): Promise<Attempt> {
    const port = this.o.edgePort(address);
    if (port === undefined) return Promise.resolve({ ok: false, error: 'unknown-edge', retryable: true });
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: Attempt): void => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const req = http.request({ host: address, port, path, agent: this.agent, headers: { host: this.o.pool }, timeout: this.o.requestTimeoutMs }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode !== undefined && res.statusCode < 500 ? { ok: true, retryable: false } : { ok: false, error: `status ${res.statusCode}`, retryable: false }));
        res.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code ?? err.message, retryable: false }));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? err.message;
        // A refused or reset connection, or no response within the timeout (a frozen edge accepts and then says
        // nothing), is what a browser retries on another address.
        done({ ok: false, error: code, retryable: RETRYABLE.has(code) });
      });
      req.end();
    });
  }
}

function subnetOf(cidr: string): ClientSubnet {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { family: address.includes(':') ? 2 : 1, sourcePrefixLength: Number(prefix), scopePrefixLength: 0, address };
}
