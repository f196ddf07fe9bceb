/**
 * Iterative resolution (RFC 1034 §5.3.3) as a state machine: a union of steps and one loop that moves
 * between them, in the spirit of Unbound's iterator states and Knot Resolver's layers.
 *
 *   cache ──hit──────────────────────────────────────────────▶ done
 *     │ miss                         ▲ answer / negative / failure
 *     ▼                              │
 *   servers (closest known cut) ──▶ ask ──referral──▶ ask (one level down)
 *     ▲                              │
 *     └──────── cname (new name) ────┘
 *
 * Every loop is capped: steps per query, referrals, CNAME chain length, upstream queries (shared with the
 * lookups of name-server names, which run the same machine nested), nesting depth and a total deadline.
 */
import { isAtOrBelow, nameKey, parentKey } from '../name.js';
import { logger } from '../../log.js';
import { RCODE, type Message, type Question, type RecordClass, type RecordType, type ResourceRecord } from '../types.js';
import type { EntryRead, ResolverCache } from './cache.js';
import { classifyReply, groupRRsets, type ReplyClass } from './reply.js';
import type { UpstreamClient, UpstreamOutcome } from './upstream.js';
import type { ServerHealth } from './infra.js';
import type { ForwardZone, ResolvedOptions, ServerAddress } from './options.js';

/** The outcome of one resolution. Failures are values too: SERVFAIL is decided by the caller. */
export type Resolution =
  | { kind: 'answer'; records: ResourceRecord[] }
  | { kind: 'nxdomain' | 'nodata'; records: ResourceRecord[]; soa: ResourceRecord | undefined }
  | { kind: 'failure'; reason: string };

/** A zone cut and the servers to ask about names below it. */
interface ZoneServers {
  zone: string;
  /** Name servers by name; `addresses` empty means "look the name up first". Forwarders have name ''. */
  servers: Array<{ name: string; addresses: ServerAddress[] }>;
  forwarded: boolean;
  /** Built from the configured root hints rather than a cached root NS set. */
  fromHints?: boolean;
}

type Step =
  | { kind: 'cache' }
  | { kind: 'servers' }
  | { kind: 'ask'; at: ZoneServers; referrals: number }
  | { kind: 'done'; resolution: Resolution };

/** Work shared by one client query and every lookup it nests (RFC 1035 §7.1's "work limits"). */
export interface Budget {
  queriesLeft: number;
  deadline: number;
  /** (name, type) lookups under way, to break glue-less cycles (a.test NS ns.b.test, b.test NS ns.a.test). */
  inProgress: Set<string>;
  queriesSent: number;
}

const log = logger('resolver');

/** After a failed root priming, the hints are used this long before priming is tried again (ms). */
const PRIME_RETRY_MS = 60_000;

/** Steps one resolution may take, whatever happens: a backstop behind the specific caps. */
const MAX_STEPS = 64;

export class Iterator {
  /** The priming under way, shared by every query that needs it. */
  private priming: Promise<void> | undefined;
  private primeRetryAt = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly cache: ResolverCache,
    private readonly upstream: UpstreamClient,
    private readonly health: ServerHealth,
  ) {}

  newBudget(): Budget {
    return {
      queriesLeft: this.options.maxUpstreamQueries,
      deadline: this.options.now() + this.options.totalTimeoutMs,
      inProgress: new Set(),
      queriesSent: 0,
    };
  }

  /** Resolves a question; `depth` counts how deeply this lookup is nested inside name-server lookups. */
  async resolve(question: Question, budget: Budget, depth = 0): Promise<Resolution> {
    const progressKey = `${nameKey(question.name)}|${question.type}`;
    if (budget.inProgress.has(progressKey)) return { kind: 'failure', reason: `lookup cycle at ${question.name}/${question.type}` };
    budget.inProgress.add(progressKey);
    try {
      return await this.run(question, budget, depth);
    } finally {
      budget.inProgress.delete(progressKey);
    }
  }

  private async run(question: Question, budget: Budget, depth: number): Promise<Resolution> {
    const { type } = question;
    const cls = question.class;
    const chain: ResourceRecord[] = [];
    let name = question.name;
    let cnames = 0;
    const followCname = (records: ResourceRecord[], target: string): Step | undefined => {
      chain.push(...records);
      cnames += records.filter((rr) => rr.type === 'CNAME').length;
      name = target;
      if (cnames > this.options.maxCnameChain) return { kind: 'done', resolution: { kind: 'failure', reason: 'CNAME chain too long' } };
      return undefined;
    };

    let step: Step = { kind: 'cache' };
    for (let n = 0; n < MAX_STEPS; n++) {
      if (step.kind === 'done') return step.resolution;
      if (this.options.now() >= budget.deadline) return { kind: 'failure', reason: 'total timeout' };
      switch (step.kind) {
        case 'cache': {
          const cached = answerFromCache(this.cache, name, type, cls, { allowStale: false }, this.options.maxCnameChain - cnames);
          if (cached.kind === 'complete') {
            step = { kind: 'done', resolution: withChain(chain, cached.resolution) };
          } else {
            step = followCname(cached.records, cached.name) ?? { kind: 'servers' };
          }
          break;
        }
        case 'servers': {
          let at = this.closestServers(name);
          // No hints at all (forwarding only): nothing to prime from.
          if (at.fromHints && this.options.primeRoot && at.servers.length > 0) {
            await this.primeRoot();
            at = this.closestServers(name);
          }
          step = { kind: 'ask', at, referrals: 0 };
          break;
        }
        case 'ask': {
          const reply = await this.askZone(step.at, { name, type, class: cls }, budget, depth);
          switch (reply.kind) {
            case 'lame':
              step = { kind: 'done', resolution: { kind: 'failure', reason: `no usable server for ${step.at.zone || '.'}: ${reply.reason}` } };
              break;
            case 'answer':
              this.cacheAnswer(reply.records);
              this.cacheGlue(reply.glue ?? []);
              step = { kind: 'done', resolution: { kind: 'answer', records: [...chain, ...this.cache.clientTtls(reply.records)] } };
              break;
            case 'cname':
              this.cacheAnswer(reply.records);
              step = followCname(this.cache.clientTtls(reply.records), reply.target) ?? { kind: 'cache' };
              break;
            case 'nxdomain':
            case 'nodata':
              this.cacheAnswer(reply.records);
              this.cache.putNegative(reply.kind, reply.name, type, cls, reply.soa);
              step = {
                kind: 'done',
                resolution: { kind: reply.kind, records: [...chain, ...this.cache.clientTtls(reply.records)], soa: this.cache.clientSoa(reply.soa) },
              };
              break;
            case 'referral': {
              if (step.referrals + 1 > this.options.maxReferralDepth) {
                step = { kind: 'done', resolution: { kind: 'failure', reason: 'too many referrals' } };
                break;
              }
              this.cacheReferral(reply.nameServers, reply.glue);
              step = { kind: 'ask', at: this.serversFromReferral(reply.zone, reply.nameServers, reply.glue), referrals: step.referrals + 1 };
              break;
            }
          }
          break;
        }
      }
    }
    return step.kind === 'done' ? step.resolution : { kind: 'failure', reason: 'step limit' };
  }

  /**
   * Asks the servers of one zone in turn until one gives a usable reply (RFC 1034 §5.3.3 step 4: on a
   * timeout, SERVFAIL, REFUSED, lame or malformed reply, try the next). Servers with known addresses go
   * first; names without glue are looked up only when those have failed. Servers that only timed out
   * get one more try at the end (RFC 1035 §7.2 retransmission): a busy server is not a lame one.
   */
  private async askZone(at: ZoneServers, question: Question, budget: Budget, depth: number): Promise<ReplyClass> {
    let last: ReplyClass = { kind: 'lame', reason: 'no servers' };
    const tried = new Set<string>();
    const timedOut: ServerAddress[] = [];
    const exhausted = (): boolean => budget.queriesLeft <= 0 || this.options.now() >= budget.deadline;
    const tryAddresses = async (addresses: ServerAddress[], retry = false): Promise<ReplyClass | undefined> => {
      for (const address of addresses) {
        const id = `${address.host}:${address.port}`;
        if (!retry && tried.has(id)) continue;
        tried.add(id);
        const attempt = await this.askOne(address, at, question, budget);
        if (attempt.reply.kind !== 'lame') return attempt.reply;
        last = attempt.reply;
        if (attempt.timedOut && !retry) timedOut.push(address);
        if (exhausted()) return last;
      }
      return undefined;
    };
    const servers = withAddressesFirst(at.servers);
    // Servers whose every address failed recently go to the back of the line.
    servers.sort((x, y) => Number(this.allSuspect(x.addresses)) - Number(this.allSuspect(y.addresses)));
    for (const server of servers) {
      let addresses = server.addresses;
      if (addresses.length === 0) {
        if (depth + 1 > this.options.maxSubResolutionDepth) {
          last = { kind: 'lame', reason: 'name-server lookups nested too deep' };
          continue;
        }
        addresses = await this.lookupServerAddresses(server.name, budget, depth + 1);
      }
      const reply = await tryAddresses(this.health.order(shuffle(addresses)));
      if (reply) return reply;
      if (exhausted()) return last;
    }
    return (await tryAddresses(timedOut, true)) ?? last;
  }

  private async askOne(address: ServerAddress, at: ZoneServers, question: Question, budget: Budget): Promise<{ reply: ReplyClass; timedOut: boolean }> {
    const lame = (reason: string, timedOut = false) => ({ reply: { kind: 'lame', reason } as const, timedOut });
    if (budget.queriesLeft <= 0) return lame('upstream query limit reached');
    const left = budget.deadline - this.options.now();
    if (left <= 0) return lame('total timeout');
    const edns = this.health.usesEdns(address);
    let outcome = await this.send(address, at, question, budget, edns, left);
    // RFC 6891 §7: FORMERR/NOTIMP without an OPT in the reply means the server does not speak EDNS:
    // ask it once more without OPT, and remember that for later queries.
    if (edns && outcome.kind === 'reply' && rejectsEdns(outcome.message) && budget.queriesLeft > 0) {
      const plain = await this.send(address, at, question, budget, false, budget.deadline - this.options.now());
      if (plain.kind === 'reply' && !rejectsEdns(plain.message)) this.health.rejectsEdns(address);
      outcome = plain;
    }
    if (outcome.kind === 'timeout' || outcome.kind === 'unreachable') this.health.failed(address);
    else this.health.answered(address);
    if (outcome.kind !== 'reply') return lame(`${address.host}: ${outcome.kind}`, outcome.kind === 'timeout');
    return { reply: classifyReply(outcome.message, { question, zone: at.zone, forwarded: at.forwarded }), timedOut: false };
  }

  /** One upstream query, counted against the budget; `left` is what remains of the total time (ms). */
  private send(address: ServerAddress, at: ZoneServers, question: Question, budget: Budget, edns: boolean, left: number): Promise<UpstreamOutcome> {
    budget.queriesLeft--;
    budget.queriesSent++;
    log.debug('upstream query', { server: `${address.host}:${address.port}`, zone: at.zone || '.', name: question.name, type: question.type, edns });
    return this.upstream.query({
      server: address,
      question,
      recursionDesired: at.forwarded,
      edns,
      timeoutMs: Math.max(1, Math.min(this.options.tryTimeoutMs, left)),
    });
  }

  private allSuspect(addresses: ServerAddress[]): boolean {
    return addresses.length > 0 && addresses.every((a) => this.health.isSuspect(a));
  }

  /** Addresses of a name server without glue: a nested resolution sharing this query's budget. */
  private async lookupServerAddresses(nsName: string, budget: Budget, depth: number): Promise<ServerAddress[]> {
    // IPv4 first; IPv6 only for a server that has no IPv4 address.
    for (const type of ['A', 'AAAA'] as const) {
      const resolution = await this.resolve({ name: nsName, type, class: 'IN' }, budget, depth);
      const hosts = resolution.kind === 'answer' ? addressesOf(resolution.records, type) : [];
      if (hosts.length > 0) return hosts.map((host) => ({ host, port: this.options.upstreamPort }));
    }
    return [];
  }

  /**
   * Root priming (RFC 8109): asks the hints servers for `. NS` and caches the answer and its glue, so
   * the current root servers are used rather than a possibly outdated hints file. When priming fails
   * the hints are used as they are, and priming is retried after PRIME_RETRY_MS.
   */
  private async primeRoot(): Promise<void> {
    if (this.options.now() < this.primeRetryAt) return;
    this.priming ??= this.runPriming().finally(() => {
      this.priming = undefined;
    });
    await this.priming;
  }

  private async runPriming(): Promise<void> {
    const reply = await this.askZone(this.hintServers(), { name: '.', type: 'NS', class: 'IN' }, this.newBudget(), 0);
    const glue = reply.kind === 'answer' ? (reply.glue ?? []) : [];
    // §3.3: without an address for any root server the answer is of no use; stay with the hints.
    if (reply.kind === 'answer' && glue.length > 0 && reply.records.every((rr) => rr.type === 'NS' && nameKey(rr.name) === '')) {
      this.cacheAnswer(reply.records);
      this.cacheGlue(glue);
      if (this.cache.lookup('', 'NS', 'IN', { minRank: 'referral' }).kind === 'rrset') return;
    }
    const reason = reply.kind === 'lame' ? reply.reason : reply.kind === 'answer' ? 'no root NS set with addresses' : `a ${reply.kind} reply`;
    log.warn('root priming failed; using the root hints', { reason });
    this.primeRetryAt = this.options.now() + PRIME_RETRY_MS;
  }

  private hintServers(): ZoneServers {
    const hints = this.options.rootHints;
    return {
      zone: '',
      forwarded: false,
      fromHints: true,
      servers: hints.nameServers.map((nsName) => ({
        name: nsName,
        addresses: preferIpv4(hints.addresses.get(nameKey(nsName)) ?? []).map((host) => ({ host, port: this.options.upstreamPort })),
      })),
    };
  }

  /** The deepest forward zone or cached delegation above `name`, else the root hints. */
  private closestServers(name: string): ZoneServers {
    const forward = closestForwardZone(this.options.forwarders, nameKey(name));
    for (let key: string | undefined = nameKey(name); key !== undefined; key = parentKey(key)) {
      if (forward !== undefined && key === nameKey(forward.zone)) {
        return { zone: key, forwarded: true, servers: [{ name: '', addresses: forward.servers }] };
      }
      const ns = this.cache.lookup(key, 'NS', 'IN', { minRank: 'referral' });
      if (ns.kind === 'rrset') return this.serversFromReferral(key, ns.records, []);
    }
    return this.hintServers();
  }

  /** Servers for a cut: addresses from the referral's glue, else from the cache (glue or answers). */
  private serversFromReferral(zone: string, nameServers: ResourceRecord[], glue: ResourceRecord[]): ZoneServers {
    const servers = nameServers.flatMap((rr) => {
      if (rr.type !== 'NS') return [];
      const hosts = this.knownAddresses(rr.data, glue);
      return [{ name: rr.data, addresses: hosts.map((host) => ({ host, port: this.options.upstreamPort })) }];
    });
    return { zone, servers, forwarded: false };
  }

  /**
   * Addresses of a name server from the referral's glue, else from the cache (glue or answers): IPv4
   * when there is any, IPv6 otherwise (a v6-only server is still reachable; a dual-stack one is asked
   * over IPv4, which every host here has).
   */
  private knownAddresses(nsName: string, glue: ResourceRecord[]): string[] {
    for (const type of ['A', 'AAAA'] as const) {
      const fromGlue = addressesOf(glue, type, nsName);
      if (fromGlue.length > 0) return fromGlue;
    }
    for (const type of ['A', 'AAAA'] as const) {
      const cached = this.cache.lookup(nsName, type, 'IN', { minRank: 'glue' });
      if (cached.kind === 'rrset') return addressesOf(cached.records, type);
    }
    return [];
  }

  private cacheAnswer(records: ResourceRecord[]): void {
    for (const rrset of groupRRsets(records)) this.cache.putRRset(rrset, 'answer');
  }

  /** Delegations are cached so that a sibling name goes straight to the closest known servers. */
  private cacheReferral(nameServers: ResourceRecord[], glue: ResourceRecord[]): void {
    this.cache.putRRset(nameServers, 'referral');
    this.cacheGlue(glue);
  }

  private cacheGlue(glue: ResourceRecord[]): void {
    for (const rrset of groupRRsets(glue)) this.cache.putRRset(rrset, 'glue');
  }
}

/** What the cache alone can say about a name: a complete answer, or how far a CNAME chain got. */
export type CachedAnswer =
  | { kind: 'complete'; resolution: Resolution; stale: boolean }
  | { kind: 'partial'; records: ResourceRecord[]; name: string; stale: boolean };

/**
 * Follows cached CNAMEs from `name` to cached data or a cached negative answer. Used by the iterator
 * (fresh only), by serve-stale (RFC 8767), which also accepts expired entries, and by the resolver's
 * fast path, which passes `reads` to learn which entries the answer came from (in walk order: each
 * CNAME followed, then the entry that ended the walk).
 */
export function answerFromCache(
  cache: ResolverCache,
  name: string,
  type: RecordType,
  cls: RecordClass,
  opts: { allowStale: boolean },
  maxCnames: number,
  reads?: EntryRead[],
): CachedAnswer {
  const records: ResourceRecord[] = [];
  let stale = false;
  let current = name;
  for (let hops = 0; hops <= maxCnames; hops++) {
    const hit = cache.lookup(current, type, cls, { allowStale: opts.allowStale });
    if (hit.kind !== 'miss') {
      stale ||= hit.stale;
      reads?.push(hit.read);
    }
    if (hit.kind === 'rrset') return { kind: 'complete', stale, resolution: { kind: 'answer', records: [...records, ...hit.records] } };
    if (hit.kind === 'nxdomain' || hit.kind === 'nodata') {
      return { kind: 'complete', stale, resolution: { kind: hit.kind, records, soa: hit.soa } };
    }
    if (type === 'CNAME') break;
    const cname = cache.lookup(current, 'CNAME', cls, { allowStale: opts.allowStale });
    if (cname.kind !== 'rrset') break;
    const rr = cname.records[0];
    if (rr === undefined || rr.type !== 'CNAME') break;
    stale ||= cname.stale;
    reads?.push(cname.read);
    records.push(rr);
    current = rr.data;
  }
  return { kind: 'partial', records, name: current, stale };
}

/** A reply that says the server does not understand EDNS (RFC 6891 §7): FORMERR or NOTIMP and no OPT. */
function rejectsEdns(reply: Message): boolean {
  return (reply.rcode === RCODE.FORMERR || reply.rcode === RCODE.NOTIMP) && reply.edns === undefined;
}

function withChain(chain: ResourceRecord[], resolution: Resolution): Resolution {
  if (chain.length === 0 || resolution.kind === 'failure') return resolution;
  return { ...resolution, records: [...chain, ...resolution.records] };
}

function closestForwardZone(forwarders: ForwardZone[], key: string): ForwardZone | undefined {
  let best: ForwardZone | undefined;
  for (const f of forwarders) {
    const zone = nameKey(f.zone);
    if (isAtOrBelow(key, zone) && (best === undefined || zone.length > nameKey(best.zone).length)) best = f;
  }
  return best;
}

/** IPv4 addresses when there are any, else the IPv6 ones (as knownAddresses does for glue). */
function preferIpv4(hosts: string[]): string[] {
  const v4 = hosts.filter((h) => !h.includes(':'));
  return v4.length > 0 ? v4 : hosts;
}

/** The addresses in the A or AAAA records of `records`, only those owned by `owner` when given (glue). */
function addressesOf(records: ResourceRecord[], type: 'A' | 'AAAA', owner?: string): string[] {
  const key = owner === undefined ? undefined : nameKey(owner);
  return records.flatMap((rr) => (rr.type === type && (key === undefined || nameKey(rr.name) === key) ? [rr.data] : []));
}

/** Servers with known addresses (in random order) before those whose names must be looked up first. */
function withAddressesFirst<T extends { addresses: unknown[] }>(servers: T[]): T[] {
  return [...shuffle(servers.filter((s) => s.addresses.length > 0)), ...shuffle(servers.filter((s) => s.addresses.length === 0))];
}

/** Fisher–Yates, so load spreads over a zone's servers and a dead one is not always first. */
function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
