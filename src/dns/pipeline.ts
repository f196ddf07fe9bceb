/**
 * The DNS query pipeline, declared in one place (ARCHITECTURE "The two pipelines"):
 *
 *   fast path (encoded answer) ─ hit ─────────────────────────────────────────────┐
 *     └ miss: decode ─> policy ─> route: authority | recursion | refused ─> encode + truncate ─> reply
 *
 * Each step is a function with a typed result; route handlers have a `name` (logs, stats). Only the
 * server writes to sockets: the pipeline returns bytes, or undefined for "drop". Both entry points
 * (`handle` for UDP datagrams and TCP frames, `handleTcp` for frames that may ask for a transfer) run
 * inside one boundary that turns any throw or rejection into a reply (see `boundary`): the socket
 * handlers in server.ts and tcp.ts never see an exception.
 *
 * EXTENSION POINT (recursion): pass a `RecursionHandler` in `PipelineOptions.recursion`. It is asked
 * only for queries outside our zones, with RD=1, from clients inside `allowRecursion` (CIDRs), and only
 * when its own `canHandle` agrees. Without a handler, such names get REFUSED.
 * EXTENSION POINT (steering): `PipelineOptions.dynamicAnswers` (see authority.ts `DynamicAnswers`).
 */
import { DnsError } from '../errors.js';
import { logger } from '../log.js';
import { AddressAcl } from './acl.js';
import { Authority, type AuthorityOutcome, type DynamicAnswers } from './authority.js';
import type { ClientInfo } from './client.js';
import { EncodedAnswerCache, readPlainQuery, type PlainQuery } from './fastpath.js';
import { SteeredAnswerCache } from './steered-cache.js';
import { ResolverAnswerCache, type CachedAnswers } from './resolver-fastpath.js';
import { queryPolicy } from './policy.js';
import { authorityReply, DEFAULT_UDP_PAYLOAD_SIZE, encodeWithin, replyTo, udpLimit } from './response.js';
import { RoundRobin } from './rotation.js';
import { asksForTransfer, ZoneTransfer } from './transfer.js';
import { RCODE, type Message } from './types.js';
import { decodeMessage, encodeMessage, HEADER_LENGTH } from './wire.js';
import { ErrorReport } from './error-report.js';
import type { ZoneSet } from './zone/store.js';

const log = logger('dns.pipeline');

/**
 * Contract for the recursive resolver (src/dns/resolver/). `resolve` returns a reply Message for the
 * query: rcode, flags.ad and the three record sections are used; the pipeline sets the id, question,
 * QR/RD/RA/CD, opcode and OPT itself. It may throw `DnsError` (its rcode is sent) or anything else
 * (SERVFAIL, logged). It should time out on its own (the client retries after ~5 s anyway).
 */
export interface RecursionHandler extends Partial<CachedAnswers> {
  readonly name: string;
  canHandle(query: Message, client: ClientInfo): boolean;
  resolve(query: Message, client: ClientInfo): Promise<Message>;
}

export interface PipelineOptions {
  zones: () => ZoneSet;
  dynamicAnswers?: DynamicAnswers;
  recursion?: RecursionHandler;
  /** CIDRs of clients allowed to recurse (e.g. ['127.0.0.0/8', '::1/128']). Empty = nobody. */
  allowRecursion?: readonly string[];
  /** Our EDNS UDP payload size (default 1232). */
  udpPayloadSize?: number;
  /** Bound on the encoded-answer cache (entries). */
  fastPathEntries?: number;
  /** CIDRs of clients allowed to transfer our zones over TCP (AXFR/IXFR). Empty or absent = nobody. */
  allowTransfer?: readonly string[];
}

/** A route handler's result: the reply, and for authority data that every client gets, the outcome to keep encoded. */
interface Routed {
  reply: Message;
  reusable?: AuthorityOutcome;
  /** A steered answer for the asked name: kept encoded per decision for the steered fast path. */
  steered?: AuthorityOutcome['steered'];
  /** A recursive answer: kept encoded for the resolver fast path while the resolver cache holds it. */
  recursive?: boolean;
}

interface RouteHandler {
  readonly name: string;
  canHandle(query: Message, client: ClientInfo): boolean;
  handle(query: Message, client: ClientInfo): Routed | Promise<Routed>;
}

/**
 * Plain counters, incremented on the hot path without label lookups; the metrics module
 * (src/dns/metrics.ts) reads them when Prometheus scrapes.
 */
export interface PipelineStats {
  /** Queries received (datagrams or TCP frames), by transport. */
  udpQueries: number;
  tcpQueries: number;
  fastPath: number;
  byHandler: Record<string, number>;
  /** Replies sent, indexed by rcode (extended rcodes up to BADVERS included). */
  rcodes: number[];
  formerr: number;
  dropped: number;
  truncated: number;
  /** Queries whose answering threw (DnsError or not); each got the error's rcode or SERVFAIL. */
  errors: number;
  /** Throws that were not DnsError (bugs, unsendable data), by the step under way: SERVFAIL sent. */
  internalErrors: Record<string, number>;
}

/**
 * The step a query is in, for the boundary: 'fastpath', 'decode', 'policy', 'route' (choosing),
 * a route handler's name ('authority', 'recursion', 'refused'), 'transfer' or 'encode'.
 */
interface Progress {
  step: string;
}

const RCODE_BY_NAME: Record<DnsError['rcode'], number> = RCODE;
/** rcodes 0..23 counted one by one (BADVERS is 16); others are not counted by rcode. */
const RCODE_SLOTS = 24;

export class QueryPipeline {
  readonly stats: PipelineStats = { udpQueries: 0, tcpQueries: 0, fastPath: 0, byHandler: {}, rcodes: new Array<number>(RCODE_SLOTS).fill(0), formerr: 0, dropped: 0, truncated: 0, errors: 0, internalErrors: {} };
  private readonly errorReport = new ErrorReport(log);
  private readonly roundRobin = new RoundRobin();
  private readonly cache: EncodedAnswerCache;
  private readonly steeredCache: SteeredAnswerCache | undefined;
  private readonly resolverCache: ResolverAnswerCache | undefined;
  private readonly authority: Authority;
  private readonly recursionAcl: AddressAcl;
  private readonly udpSize: number;
  private readonly transfer: ZoneTransfer | undefined;
  /** The route table, tried in order: the first handler that can handle a query answers it. */
  private readonly routes: RouteHandler[];

  constructor(private readonly options: PipelineOptions) {
    this.udpSize = options.udpPayloadSize ?? DEFAULT_UDP_PAYLOAD_SIZE;
    this.cache = new EncodedAnswerCache(this.roundRobin, options.fastPathEntries);
    const choose = options.dynamicAnswers?.choose?.bind(options.dynamicAnswers);
    if (choose) this.steeredCache = new SteeredAnswerCache({ choose }, options.fastPathEntries);
    const r = options.recursion;
    if (r?.cachedAnswer && r.countCacheHit) this.resolverCache = new ResolverAnswerCache({ cachedAnswer: r.cachedAnswer.bind(r), countCacheHit: r.countCacheHit.bind(r) }, options.fastPathEntries);
    this.authority = new Authority(options.zones, options.dynamicAnswers ? { dynamicAnswers: options.dynamicAnswers } : {});
    this.recursionAcl = new AddressAcl(options.allowRecursion ?? []);
    if (options.allowTransfer?.length) {
      this.transfer = new ZoneTransfer(options.zones, options.allowTransfer, this.udpSize);
      this.stats.byHandler.transfer = 0;
    }
    this.routes = [this.authorityRoute(), ...(options.recursion ? [this.recursionRoute(options.recursion)] : []), this.refusedRoute()];
    for (const r of this.routes) this.stats.byHandler[r.name] = 0;
  }

  /** Encoded answers currently kept (a gauge for metrics). */
  get fastPathEntries(): number {
    return this.cache.size + (this.steeredCache?.size ?? 0) + (this.resolverCache?.size ?? 0);
  }

  /** Zones changed: encoded answers may be stale. */
  zonesChanged(): void {
    this.cache.clear();
    this.steeredCache?.clear();
    this.resolverCache?.clear();
  }

  /** Bytes in, reply bytes out (undefined: drop). UDP replies are sized to the client, TCP ones up to 65535 bytes. */
  handle(bytes: Buffer, client: ClientInfo): Buffer | undefined | Promise<Buffer | undefined> {
    return this.boundary(bytes, client, false) as Buffer | undefined | Promise<Buffer | undefined>;
  }

  /**
   * A TCP frame: as `handle`, except that a zone transfer (when configured) answers with a stream of
   * messages (RFC 5936 §2.2). Transfers are TCP-only (§4.2); over UDP the policy step refuses them.
   */
  handleTcp(bytes: Buffer, client: ClientInfo): Buffer | Buffer[] | undefined | Promise<Buffer | undefined> {
    return this.boundary(bytes, client, true);
  }

  /**
   * The one catch (STYLE "Protocol errors carry their wire result"), around everything both entry
   * points do, synchronous or not: a DnsError becomes a reply with its rcode; anything else is a bug
   * or data we cannot send, and becomes SERVFAIL, a count by step and a rate-limited log line. Nothing
   * thrown here reaches the socket handlers, so no packet can stop the process.
   */
  private boundary(bytes: Buffer, client: ClientInfo, tcp: boolean): Buffer | Buffer[] | undefined | Promise<Buffer | undefined> {
    const at: Progress = { step: 'fastpath' };
    try {
      const out = tcp ? this.answerTcp(bytes, client, at) : this.answer(bytes, client, at);
      if (out instanceof Promise) return out.catch((err: unknown) => this.recover(bytes, client, at.step, err));
      return out;
    } catch (err) {
      return this.recover(bytes, client, at.step, err);
    }
  }

  private answerTcp(bytes: Buffer, client: ClientInfo, at: Progress): Buffer | Buffer[] | undefined | Promise<Buffer | undefined> {
    if (!this.transfer || !asksForTransfer(bytes)) return this.answer(bytes, client, at);
    at.step = 'decode';
    const decoded = decodeMessage(bytes);
    // Anything unusual about it (unreadable, not a plain QUERY): the general path answers as for any query.
    if (decoded.kind !== 'message' || queryPolicy(decoded.message, { transfer: true }).kind !== 'continue') return this.answer(bytes, client, at);
    this.stats.tcpQueries++;
    this.stats.byHandler.transfer!++;
    at.step = 'transfer';
    const messages = this.transfer.answer(decoded.message, client);
    this.stats.rcodes[messages[0]![3]! & 0xf]!++;
    return messages;
  }

  /** The steps of one query; `at` names the step under way, for the boundary's metric when one throws. */
  private answer(bytes: Buffer, client: ClientInfo, at: Progress): Buffer | undefined | Promise<Buffer | undefined> {
    if (client.transport === 'udp') this.stats.udpQueries++;
    else this.stats.tcpQueries++;
    // Step 1: fast path — a plain query we answered before.
    at.step = 'fastpath';
    const plain = readPlainQuery(bytes);
    if (plain) {
      const limit = client.transport === 'tcp' ? 0xffff : Math.min(plain.clientUdpSize, this.udpSize);
      const ra = this.options.recursion !== undefined && this.mayRecurse(client);
      const hit = this.cache.answer(bytes, plain, limit, ra) ?? this.steeredCache?.answer(bytes, plain, client, limit, ra) ?? (ra ? this.resolverCache?.answer(bytes, plain, limit) : undefined);
      if (hit) {
        this.stats.fastPath++;
        this.stats.rcodes[hit[3]! & 0xf]!++; // cached answers never carry an extended rcode
        return hit;
      }
    }
    // Step 2: decode. Unreadable after the header: FORMERR; not even a header: drop.
    at.step = 'decode';
    const decoded = decodeMessage(bytes);
    if (decoded.kind === 'drop') {
      this.stats.dropped++;
      return undefined;
    }
    if (decoded.kind === 'malformed') {
      if (decoded.qr) {
        this.stats.dropped++;
        return undefined;
      }
      this.stats.formerr++;
      this.stats.rcodes[RCODE.FORMERR]!++;
      at.step = 'encode';
      return headerOnlyReply(bytes, RCODE.FORMERR);
    }
    const query = decoded.message;
    if (query.edns?.clientSubnet) client = { ...client, clientSubnet: query.edns.clientSubnet };
    // Step 3: policy.
    at.step = 'policy';
    const verdict = queryPolicy(query);
    if (verdict.kind === 'drop') {
      this.stats.dropped++;
      return undefined;
    }
    if (verdict.kind === 'reply') {
      if (verdict.rcode === RCODE.FORMERR) this.stats.formerr++;
      at.step = 'encode';
      return this.finish(query, client, { reply: replyTo(query, verdict.rcode, this.udpSize) }, undefined);
    }
    // Step 4: route to the first handler that takes the query.
    at.step = 'route';
    const route = this.routes.find((r) => r.canHandle(query, client))!;
    this.stats.byHandler[route.name]!++;
    at.step = route.name;
    const routed = route.handle(query, client);
    if (routed instanceof Promise) {
      return routed.then((r) => {
        at.step = 'encode';
        return this.finish(query, client, r, plain);
      });
    }
    at.step = 'encode';
    return this.finish(query, client, routed, plain);
  }

  /** Step 5: encode, truncate to the client's UDP size, and keep reusable answers encoded for the fast path. */
  private finish(query: Message, client: ClientInfo, routed: Routed, plain: PlainQuery | undefined): Buffer {
    const reply = routed.reply;
    if (this.options.recursion && this.mayRecurse(client)) reply.flags.ra = true;
    const limit = client.transport === 'tcp' ? 0xffff : udpLimit(query, this.udpSize);
    const { bytes, truncated } = encodeWithin(reply, limit);
    if (truncated) this.stats.truncated++;
    if (reply.rcode < RCODE_SLOTS) this.stats.rcodes[reply.rcode]!++;
    // Client-independent authority answers are kept with RA=0 (the fast path sets RA per client); steered
    // answers per decision and recursive answers while the resolver cache holds them (their own modules).
    if (plain && routed.reusable) this.keepEncoded(query, plain, routed.reusable);
    if (plain && routed.steered && !truncated) this.steeredCache?.store(plain, routed.steered, bytes);
    if (plain && routed.recursive && !truncated) this.resolverCache?.store(plain, query.questions[0]!, bytes);
    return bytes;
  }

  private keepEncoded(query: Message, plain: PlainQuery, outcome: AuthorityOutcome): void {
    const count = outcome.rotation?.count ?? 1;
    const variants: Buffer[] = [];
    for (let offset = 0; offset < count; offset++) variants.push(encodeMessage(authorityReply(query, outcome, this.udpSize, offset)));
    this.cache.store(plain.key, outcome.rotation ? { variants, rotation: outcome.rotation.rrset } : { variants });
  }

  /**
   * The boundary's reply after a throw at `step`: DnsError carries its rcode, anything else is SERVFAIL.
   * The reply echoes the question when the query decodes and the reply encodes; otherwise it is the
   * bare header (id, opcode, RD, CD). A response, or fewer than 12 bytes, is dropped. Never throws.
   */
  private recover(bytes: Buffer, client: ClientInfo, step: string, err: unknown): Buffer | undefined {
    this.stats.errors++;
    let rcode: number = RCODE.SERVFAIL;
    let name: string | undefined;
    try {
      if (err instanceof DnsError) rcode = RCODE_BY_NAME[err.rcode];
      else this.stats.internalErrors[step] = (this.stats.internalErrors[step] ?? 0) + 1;
      const decoded = decodeMessage(bytes);
      if (decoded.kind === 'message' && !decoded.message.flags.qr) {
        const query = decoded.message;
        name = query.questions[0]?.name;
        try {
          return this.finish(query, client, { reply: replyTo(query, rcode, this.udpSize) }, undefined);
        } catch {
          // The question itself cannot be sent back: the bare header below.
        }
      }
      const reply = headerOnlyReply(bytes, rcode);
      if (reply) this.stats.rcodes[rcode]!++;
      return reply;
    } catch {
      return undefined; // not even a header could be built: drop
    } finally {
      if (!(err instanceof DnsError)) this.errorReport.report(step, err, name);
    }
  }

  private mayRecurse(client: ClientInfo): boolean {
    return this.recursionAcl.allows(client.address);
  }

  private authorityRoute(): RouteHandler {
    return {
      name: 'authority',
      canHandle: (query) => this.authority.covers(query.questions[0]!.name),
      handle: (query, client) => {
        const outcome = this.authority.answer(query.questions[0]!, client);
        const offset = outcome.rotation ? this.roundRobin.next(outcome.rotation.rrset) : 0;
        const reply = authorityReply(query, outcome, this.udpSize, offset);
        if (outcome.steered) return { reply, steered: outcome.steered };
        return outcome.reusable ? { reply, reusable: outcome } : { reply };
      },
    };
  }

  /** Names outside our zones that nobody else takes (RFC 1035 §4.1.1: REFUSED for policy reasons). */
  private refusedRoute(): RouteHandler {
    return { name: 'refused', canHandle: () => true, handle: (query) => ({ reply: replyTo(query, RCODE.REFUSED, this.udpSize) }) };
  }

  private recursionRoute(recursion: RecursionHandler): RouteHandler {
    return {
      name: recursion.name,
      canHandle: (query, client) => query.flags.rd && this.mayRecurse(client) && recursion.canHandle(query, client),
      handle: async (query, client) => {
        const resolved = await recursion.resolve(query, client);
        const reply = replyTo(query, resolved.rcode, this.udpSize);
        reply.flags.ad = resolved.flags.ad;
        reply.answers = resolved.answers;
        reply.authorities = resolved.authorities;
        reply.additionals = resolved.additionals;
        return { reply, recursive: true };
      },
    };
  }
}


/**
 * A reply holding only the query's header: the id, opcode, RD and CD kept, QR set, the given rcode, no
 * sections (RFC 1035 §4.1.1). For queries whose body we cannot read (FORMERR) or cannot echo back.
 * Built from the bytes alone, so it cannot fail on them; undefined for a response or a short packet.
 */
function headerOnlyReply(query: Buffer, rcode: number): Buffer | undefined {
  if (query.length < HEADER_LENGTH || (query[2]! & 0x80) !== 0) return undefined;
  const reply = Buffer.alloc(HEADER_LENGTH);
  query.copy(reply, 0, 0, 2);
  // QR=1; opcode and RD kept from the query (AA, TC cleared); RA=0, AD=0, CD kept; rcode in the low 4 bits.
  reply[2] = 0x80 | (query[2]! & 0x79);
  reply[3] = (query[3]! & 0x10) | (rcode & 0xf);
  return reply;
}
