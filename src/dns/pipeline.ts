/**
 * The DNS query pipeline: the entry points for the servers, the chain (chain.ts, declared once), the
 * encoder, and the one boundary that catches (ARCHITECTURE "The two pipelines"):
 *
 *   bytes ─> fastpath → decode → policy → transfer → authority → recursion → refused ─> encode + truncate ─> bytes
 *
 * Only the server writes to sockets: the pipeline returns bytes, or undefined for "drop". Both entry
 * points (`handle` for UDP datagrams and TCP frames, `handleTcp` for frames that may ask for a transfer)
 * run inside one boundary that turns any throw or rejection into a reply (see `boundary`): the socket
 * handlers in server.ts and tcp.ts never see an exception.
 *
 * EXTENSION POINT (recursion): pass a `RecursionHandler` in `PipelineOptions.recursion`. It is asked
 * only for queries outside our zones, with RD=1, from clients inside `allowRecursion` (CIDRs), and only
 * when its own `canHandle` agrees. Without a handler, such names get REFUSED.
 * EXTENSION POINT (steering): `PipelineOptions.dynamicAnswers` (see authority.ts `DynamicAnswers`).
 */
import { performance } from 'node:perf_hooks';
import { logger } from '../log.js';
import { AddressAcl } from './acl.js';
import { Authority, type AuthorityOutcome, type DynamicAnswers } from './authority.js';
import { buildChain, runChain, type ChainEntry, type QueryContext, type RecursionHandler } from './chain.js';
import type { ClientInfo } from './client.js';
import { EncodedAnswerCache, type PlainQuery } from './fastpath.js';
import { authorityReply, DEFAULT_UDP_PAYLOAD_SIZE, encodeWithin, headerOnlyReply, replyTo, udpLimit } from './response.js';
import { SteeredAnswerCache } from './steered-cache.js';
import { offersCachedAnswers, ResolverAnswerCache } from './resolver-fastpath.js';
import { RoundRobin } from './rotation.js';
import { ResponseRateLimiter, type RrlCounters, type RrlSettings } from './rrl.js';
import { ZoneTransfer } from './transfer.js';
import type { TsigKey } from './tsig.js';
import { RCODE, type Message } from './types.js';
import { decodeMessage, encodeMessage } from './wire.js';
import { ErrorReport } from './error-report.js';
import { QueryLog } from './query-log.js';
import { QueryStats, questionType } from './query-stats.js';
import type { ZoneSet } from './zone/store.js';

export type { RecursionHandler } from './chain.js';

const log = logger('dns.pipeline');

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
  /** TSIG keys (RFC 8945) a transfer must be signed with; empty or absent = the ACL alone. */
  tsigKeys?: readonly TsigKey[];
  /** Response-rate limiting of UDP replies (rrl.ts); absent = off. */
  rrl?: RrlSettings;
  /** Fraction of queries written to the query log (query-log.ts), 0..1; absent or 0 = no query log. */
  queryLogSample?: number;
}

/**
 * Plain counters, incremented on the hot path without label lookups; the metrics module
 * (src/dns/metrics.ts) reads them when Prometheus scrapes.
 */
export interface PipelineStats {
  /** Queries received (datagrams or TCP frames), by transport. */
  udpQueries: number;
  tcpQueries: number;
  /** Replies by the chain entry that gave them (every entry of chain.ts, 'fastpath' = encoded-answer cache hits). */
  byHandler: Record<string, number>;
  /** Replies sent, indexed by rcode (extended rcodes up to BADVERS included). */
  rcodes: number[];
  formerr: number;
  dropped: number;
  truncated: number;
  /** Queries whose answering threw; each got SERVFAIL. */
  errors: number;
  /** The same throws (bugs, unsendable data), by the chain entry under way or 'encode'. */
  internalErrors: Record<string, number>;
  /** Queries by transport and qtype, and the latency histogram (query-stats.ts). */
  queries: QueryStats;
}

/** rcodes 0..23 counted one by one (BADVERS is 16); others are not counted by rcode. */
const RCODE_SLOTS = 24;

export class QueryPipeline {
  readonly stats: PipelineStats = { udpQueries: 0, tcpQueries: 0, byHandler: {}, rcodes: new Array<number>(RCODE_SLOTS).fill(0), formerr: 0, dropped: 0, truncated: 0, errors: 0, internalErrors: {}, queries: new QueryStats() };
  private readonly errorReport = new ErrorReport(log);
  private readonly roundRobin = new RoundRobin();
  private readonly cache: EncodedAnswerCache;
  private readonly steeredCache: SteeredAnswerCache | undefined;
  private readonly resolverCache: ResolverAnswerCache | undefined;
  private readonly recursionAcl: AddressAcl;
  private readonly udpSize: number;
  private readonly chain: readonly ChainEntry[];
  private readonly rrl: ResponseRateLimiter | undefined;
  /** Absent when the query log is off: then no query pays for it. */
  private readonly queryLog: QueryLog | undefined;

  constructor(private readonly options: PipelineOptions) {
    this.udpSize = options.udpPayloadSize ?? DEFAULT_UDP_PAYLOAD_SIZE;
    this.cache = new EncodedAnswerCache(this.roundRobin, options.fastPathEntries);
    const choose = options.dynamicAnswers?.choose?.bind(options.dynamicAnswers);
    if (choose) this.steeredCache = new SteeredAnswerCache({ choose }, options.fastPathEntries);
    const r = options.recursion;
    if (r && offersCachedAnswers(r)) this.resolverCache = new ResolverAnswerCache(r, options.fastPathEntries);
    this.recursionAcl = new AddressAcl(options.allowRecursion ?? []);
    if (options.rrl) this.rrl = new ResponseRateLimiter(options.rrl);
    if (options.queryLogSample) this.queryLog = new QueryLog(options.queryLogSample);
    this.chain = buildChain({
      cache: this.cache,
      authority: new Authority(options.zones, options.dynamicAnswers ? { dynamicAnswers: options.dynamicAnswers } : {}),
      roundRobin: this.roundRobin,
      transfer: options.allowTransfer?.length ? new ZoneTransfer(options.zones, options.allowTransfer, this.udpSize, { tsigKeys: options.tsigKeys ?? [] }) : undefined,
      recursion: options.recursion,
      recursionAcl: this.recursionAcl,
      steeredCache: this.steeredCache,
      resolverCache: this.resolverCache,
      udpSize: this.udpSize,
      counters: this.stats,
    });
    for (const entry of this.chain) this.stats.byHandler[entry.name] = 0;
  }

  /** Encoded answers currently kept (a gauge for metrics). */
  get fastPathEntries(): number {
    return this.cache.size + (this.steeredCache?.size ?? 0) + (this.resolverCache?.size ?? 0);
  }

  /** RRL's limited, slipped and dropped replies (undefined when RRL is off). */
  get rrlCounters(): Readonly<RrlCounters> | undefined {
    return this.rrl?.counters;
  }

  /** Zones changed: encoded answers may be stale. */
  zonesChanged(): void {
    this.cache.clear();
    this.steeredCache?.clear();
    this.resolverCache?.clear();
  }

  /**
   * Bytes in, reply bytes out (undefined: drop). UDP replies are sized to the client, TCP ones up to
   * 65535 bytes. A zone transfer asked here is REFUSED: it needs `handleTcp`'s stream of messages.
   */
  handle(bytes: Buffer, client: ClientInfo): Buffer | undefined | Promise<Buffer | undefined> {
    // Not a stream: the transfer entry never sets `messages`, so the reply is one buffer or none.
    return this.boundary(newContext(bytes, client, false)) as Buffer | undefined | Promise<Buffer | undefined>;
  }

  /**
   * A TCP frame: as `handle`, except that a zone transfer (when configured) answers with a stream of
   * messages (RFC 5936 §2.2). Transfers are TCP-only (§4.2); over UDP the transfer entry refuses them.
   */
  handleTcp(bytes: Buffer, client: ClientInfo): Buffer | Buffer[] | undefined | Promise<Buffer | Buffer[] | undefined> {
    return this.boundary(newContext(bytes, client, true));
  }

  /**
   * The one catch (STYLE "No packet and no request can crash the process"), around everything both
   * entry points do, synchronous or not: a throw is a bug or data we cannot send, and becomes SERVFAIL,
   * a count under the entry that threw (`ctx.step`) and a rate-limited log line. Nothing thrown here
   * reaches the socket handlers.
   */
  private boundary(ctx: QueryContext): Buffer | Buffer[] | undefined | Promise<Buffer | Buffer[] | undefined> {
    if (ctx.client.transport === 'udp') this.stats.udpQueries++;
    else this.stats.tcpQueries++;
    const started = performance.now();
    try {
      const ended = runChain(this.chain, ctx);
      if (ended instanceof Promise)
        return ended
          .then((r) => this.limit(ctx, this.deliver(ctx, r)))
          .catch((err: unknown) => this.recover(ctx, err))
          .then((out) => this.finish(ctx, started, out));
      return this.finish(ctx, started, this.limit(ctx, this.deliver(ctx, ended)));
    } catch (err) {
      return this.finish(ctx, started, this.recover(ctx, err));
    }
  }

  /**
   * Every query ends here once, whatever happened: counted by transport and qtype, its time from the
   * boundary's entry to its reply bytes in the latency histogram (performance.now(): a double, no
   * allocation), and written to the query log when it is on and samples this query.
   */
  private finish<T extends Buffer | Buffer[] | undefined>(ctx: QueryContext, started: number, out: T): T {
    const seconds = (performance.now() - started) / 1000;
    const qtype = ctx.plain ? ctx.bytes.readUInt16BE(ctx.plain.questionEnd - 4) : questionType(ctx.bytes);
    this.stats.queries.record(ctx.client.transport, qtype, seconds);
    if (this.queryLog?.sampled()) {
      try {
        this.queryLog.record(ctx, ctx.answeredBy, out, seconds);
      } catch (err) {
        this.errorReport.report('query-log', err, undefined);
      }
    }
    return out;
  }

  /**
   * Response-rate limiting (rrl.ts), inside the boundary so that a throw in it is a SERVFAIL counted
   * under 'rrl', like any entry's. UDP only, after the whole chain (fast path included), on the bytes
   * about to be sent: TCP is the escape hatch a slipped client retries on.
   */
  private limit<T extends Buffer | Buffer[] | undefined>(ctx: QueryContext, out: T): T | undefined {
    const rrl = this.rrl;
    if (!rrl || ctx.client.transport !== 'udp' || Array.isArray(out)) return out;
    ctx.step = 'rrl';
    return rrl.apply(out as Buffer | undefined, ctx.client.address) as T | undefined;
  }

  /** What the chain ended with, as bytes: counted by entry and rcode, a message encoded and truncated. */
  private deliver(ctx: QueryContext, ended: 'reply' | 'drop'): Buffer | Buffer[] | undefined {
    if (ended === 'drop') return undefined;
    this.stats.byHandler[ctx.step]!++;
    ctx.answeredBy = ctx.step;
    if (ctx.reply) {
      ctx.step = 'encode';
      return this.encode(ctx.reply, ctx.query!, ctx.client, ctx);
    }
    const first = ctx.messages ? ctx.messages[0]! : ctx.wire!;
    this.stats.rcodes[first[3]! & 0xf]!++; // encoded replies here never carry an extended rcode
    return ctx.messages ?? ctx.wire;
  }

  /** Encode, truncate to the client's UDP size, and keep reusable answers encoded for the fast path. */
  private encode(reply: Message, query: Message, client: ClientInfo, keep: Pick<QueryContext, 'plain' | 'reusable' | 'steered' | 'recursive'> | undefined): Buffer {
    if (this.options.recursion && this.recursionAcl.allows(client.address)) reply.flags.ra = true;
    const limit = client.transport === 'tcp' ? 0xffff : udpLimit(query, this.udpSize);
    const { bytes, truncated } = encodeWithin(reply, limit);
    if (truncated) this.stats.truncated++;
    if (reply.rcode < RCODE_SLOTS) this.stats.rcodes[reply.rcode]!++;
    // Client-independent authority answers are kept with RA=0 (the fast path sets RA per client); steered
    // answers per decision and recursive answers while the resolver cache holds them (their own modules).
    if (keep?.plain) {
      if (keep.reusable) this.keepEncoded(query, keep.plain, keep.reusable);
      if (keep.steered && !truncated) this.steeredCache?.store(keep.plain, keep.steered, bytes);
      if (keep.recursive && !truncated) this.resolverCache?.store(keep.plain, query.questions[0]!, bytes);
    }
    return bytes;
  }

  private keepEncoded(query: Message, plain: PlainQuery, outcome: AuthorityOutcome): void {
    const count = outcome.rotation?.count ?? 1;
    const variants: Buffer[] = [];
    for (let offset = 0; offset < count; offset++) variants.push(encodeMessage(authorityReply(query, outcome, this.udpSize, offset)));
    this.cache.store(plain.key, outcome.rotation ? { variants, rotation: outcome.rotation.rrset } : { variants });
  }

  /**
   * The boundary's reply after a throw at `ctx.step`: SERVFAIL. The reply echoes the question when the
   * query decodes and the reply encodes; otherwise it is the bare header (id, opcode, RD, CD). A
   * response, or fewer than 12 bytes, is dropped. Never throws.
   */
  private recover(ctx: QueryContext, err: unknown): Buffer | undefined {
    const step = ctx.step;
    ctx.answeredBy = 'error';
    this.stats.errors++;
    this.stats.internalErrors[step] = (this.stats.internalErrors[step] ?? 0) + 1;
    let name: string | undefined;
    try {
      const decoded = decodeMessage(ctx.bytes);
      if (decoded.kind === 'message' && !decoded.message.flags.qr) {
        const query = decoded.message;
        name = query.questions[0]?.name;
        try {
          return this.encode(replyTo(query, RCODE.SERVFAIL, this.udpSize), query, ctx.client, undefined);
        } catch {
          // The question itself cannot be sent back: the bare header below.
        }
      }
      const reply = headerOnlyReply(ctx.bytes, RCODE.SERVFAIL);
      if (reply) this.stats.rcodes[RCODE.SERVFAIL]!++;
      return reply;
    } catch {
      return undefined; // not even a header could be built: drop
    } finally {
      this.errorReport.report(step, err, name);
    }
  }
}

function newContext(bytes: Buffer, client: ClientInfo, stream: boolean): QueryContext {
  return { bytes, client, stream, step: 'fastpath', plain: undefined, query: undefined, wire: undefined, messages: undefined, reply: undefined, reusable: undefined, steered: undefined, recursive: false, answeredBy: 'drop' };
}
