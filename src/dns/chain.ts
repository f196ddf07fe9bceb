/**
 * The DNS query chain, declared once (ARCHITECTURE "The two pipelines"; the CoreDNS plugin.cfg idea):
 *
 *   fastpath → decode → policy → transfer → authority → recursion → refused
 *
 * Every query, UDP datagram or TCP frame, zone transfer included, walks this one table in order. Each
 * entry reads and fills the query's context and returns what happens next (Knot Resolver's layer
 * states, reduced to three):
 *   - 'continue': the next entry decides;
 *   - 'reply':    the context now holds the answer (`wire`, `messages` or `reply`), and the chain stops;
 *   - 'drop':     nothing is sent (not even a header could be answered, or it was a response).
 * An entry's `name` is its label in dnscdn_dns_handled_total{handler}, in
 * dnscdn_dns_internal_errors_total{step} and in log lines. Entries never write to sockets and need not
 * catch: the pipeline's one boundary (pipeline.ts) turns a throw in entry X into SERVFAIL counted as X.
 * The last entry always replies.
 */
import type { AddressAcl } from './acl.js';
import { Authority, type AuthorityOutcome } from './authority.js';
import type { ClientInfo } from './client.js';
import { readPlainQuery, type EncodedAnswerCache, type PlainQuery } from './fastpath.js';
import { queryPolicy } from './policy.js';
import { authorityReply, headerOnlyReply, replyTo } from './response.js';
import type { RoundRobin } from './rotation.js';
import type { ZoneTransfer } from './transfer.js';
import type { ResolverAnswerCache, CachedAnswers } from './resolver-fastpath.js';
import type { SteeredAnswerCache } from './steered-cache.js';
import { RCODE, type Message } from './types.js';
import { decodeMessage } from './wire.js';

export type StepResult = 'continue' | 'reply' | 'drop';

/** One query on its way through the chain; created per query by the pipeline, filled by the entries. */
export interface QueryContext {
  readonly bytes: Buffer;
  /** The sender; the decode entry adds the query's EDNS client subnet (RFC 7871). */
  client: ClientInfo;
  /** The transport can carry a stream of messages (a TCP connection): zone transfers need one (RFC 5936 §4.2). */
  readonly stream: boolean;
  /** The entry under way ('encode' once a reply is being encoded): the boundary's label for a throw. */
  step: string;
  /** What the fast path read from the bytes; the encoder keeps reusable answers under its key. */
  plain: PlainQuery | undefined;
  /** Set by decode; every entry after it may rely on it. */
  query: Message | undefined;
  /** With 'reply': bytes sent as they are (a fast-path hit, a header-only FORMERR). */
  wire: Buffer | undefined;
  /** With 'reply': a zone transfer, one message per TCP frame. */
  messages: Buffer[] | undefined;
  /** With 'reply': a message the pipeline encodes and truncates to the client's size. */
  reply: Message | undefined;
  /** With `reply`: the client-independent authority outcome it came from, to keep encoded for the fast path. */
  reusable: AuthorityOutcome | undefined;
  /**
   * A steered answer for the asked name: with `reply`, to keep it encoded per decision (steered-cache.ts);
   * on a steered fast-path hit, the decision it was encoded for (the query log names it).
   */
  steered: AuthorityOutcome['steered'] | undefined;
  /** With `reply`: a recursive answer, kept encoded while the resolver cache holds it (resolver-fastpath.ts). */
  recursive: boolean;
  /** Set by the pipeline when the query is done: the entry that replied, 'error' (the boundary's SERVFAIL) or 'drop'. */
  answeredBy: string;
}

export interface ChainEntry {
  readonly name: string;
  run(ctx: QueryContext): StepResult | Promise<StepResult>;
}

/**
 * Contract for the recursive resolver (src/dns/resolver/). `resolve` returns a reply Message for the
 * query: rcode, flags.ad and the three record sections are used; the chain sets the id, question,
 * QR/RD/RA/CD, opcode and OPT itself. A throw or rejection is a bug: SERVFAIL, counted and logged under
 * 'recursion'. It should time out on its own (the client retries after ~5 s anyway).
 */
export interface RecursionHandler extends Partial<CachedAnswers> {
  canHandle(query: Message, client: ClientInfo): boolean;
  resolve(query: Message, client: ClientInfo): Promise<Message>;
}

/** Counters the entries bump themselves (what ended a query is counted by the pipeline, by entry name). */
export interface ChainCounters {
  formerr: number;
  dropped: number;
}

/** What the entries work with; built once per pipeline. */
export interface ChainParts {
  cache: EncodedAnswerCache;
  authority: Authority;
  roundRobin: RoundRobin;
  /** Absent when no client may transfer (no ACL configured): transfers are REFUSED. */
  transfer: ZoneTransfer | undefined;
  recursion: RecursionHandler | undefined;
  recursionAcl: AddressAcl;
  /** Encoded steered replies per decision; absent without steering. */
  steeredCache: SteeredAnswerCache | undefined;
  /** Encoded resolver replies checked against the resolver cache; absent without recursion. */
  resolverCache: ResolverAnswerCache | undefined;
  /** Our EDNS UDP payload size. */
  udpSize: number;
  counters: ChainCounters;
}

/** The chain, in order. Adding a capability means adding one entry here, at the place it runs. */
export function buildChain(parts: ChainParts): readonly ChainEntry[] {
  const { cache, authority, roundRobin, transfer, recursion, recursionAcl, steeredCache, resolverCache, udpSize, counters } = parts;
  const mayRecurse = (client: ClientInfo): boolean => recursion !== undefined && recursionAcl.allows(client.address);
  return [
    {
      // A plain query answered before: its reply copied from the encoded authoritative answers (fastpath.ts),
      // the steered replies for this client's decision (steered-cache.ts), or the resolver's (resolver-fastpath.ts).
      name: 'fastpath',
      run(ctx) {
        const plain = readPlainQuery(ctx.bytes);
        if (!plain) return 'continue';
        ctx.plain = plain;
        const limit = ctx.client.transport === 'tcp' ? 0xffff : Math.min(plain.clientUdpSize, udpSize);
        const ra = mayRecurse(ctx.client);
        const hit = cache.answer(ctx.bytes, plain, limit, ra) ?? steeredCache?.answer(ctx.bytes, plain, ctx.client, limit, ra, ctx) ?? (ra ? resolverCache?.answer(ctx.bytes, plain, limit) : undefined);
        if (!hit) return 'continue';
        ctx.wire = hit;
        return 'reply';
      },
    },
    {
      // Unreadable after the header: FORMERR with the header alone; not even a header, or a response: drop.
      name: 'decode',
      run(ctx) {
        const decoded = decodeMessage(ctx.bytes);
        if (decoded.kind === 'message') {
          ctx.query = decoded.message;
          const subnet = decoded.message.edns?.clientSubnet;
          if (subnet) ctx.client = { ...ctx.client, clientSubnet: subnet };
          return 'continue';
        }
        const formerr = decoded.kind === 'malformed' ? headerOnlyReply(ctx.bytes, RCODE.FORMERR) : undefined;
        if (!formerr) {
          counters.dropped++;
          return 'drop';
        }
        counters.formerr++;
        ctx.wire = formerr;
        return 'reply';
      },
    },
    {
      // What is refused before any zone is consulted (policy.ts).
      name: 'policy',
      run(ctx) {
        const query = ctx.query!;
        const verdict = queryPolicy(query);
        if (verdict.kind === 'continue') return 'continue';
        if (verdict.kind === 'drop') {
          counters.dropped++;
          return 'drop';
        }
        if (verdict.rcode === RCODE.FORMERR) counters.formerr++;
        ctx.reply = replyTo(query, verdict.rcode, udpSize);
        return 'reply';
      },
    },
    {
      // AXFR/IXFR (transfer.ts): only over a stream and only where offered; everything else goes on.
      name: 'transfer',
      run(ctx) {
        const query = ctx.query!;
        const type = query.questions[0]!.type;
        if (type !== 'AXFR' && type !== 'IXFR') return 'continue';
        if (!transfer || !ctx.stream) {
          // RFC 5936 §4.2: transfers are TCP-only; and where none is offered, refuse rather than pretend.
          ctx.reply = replyTo(query, RCODE.REFUSED, udpSize);
          return 'reply';
        }
        ctx.messages = transfer.answer(query, ctx.client, ctx.bytes);
        return 'reply';
      },
    },
    {
      // Names inside our zones (authority.ts); a name outside them goes on to recursion or REFUSED.
      name: 'authority',
      run(ctx) {
        const query = ctx.query!;
        const outcome = authority.answer(query.questions[0]!, ctx.client);
        if (outcome.kind === 'refused') return 'continue';
        const offset = outcome.rotation ? roundRobin.next(outcome.rotation.rrset) : 0;
        ctx.reply = authorityReply(query, outcome, udpSize, offset);
        if (outcome.steered) ctx.steered = outcome.steered;
        else if (outcome.reusable) ctx.reusable = outcome;
        return 'reply';
      },
    },
    {
      // RD=1 from a client in the recursion ACL, when a resolver is configured and takes the query.
      name: 'recursion',
      run(ctx) {
        const query = ctx.query!;
        if (!recursion || !query.flags.rd || !mayRecurse(ctx.client) || !recursion.canHandle(query, ctx.client)) return 'continue';
        return recursion.resolve(query, ctx.client).then((resolved) => {
          const reply = replyTo(query, resolved.rcode, udpSize);
          reply.flags.ad = resolved.flags.ad;
          reply.answers = resolved.answers;
          reply.authorities = resolved.authorities;
          reply.additionals = resolved.additionals;
          ctx.reply = reply;
          ctx.recursive = true;
          return 'reply';
        });
      },
    },
    {
      // Names outside our zones that nobody else takes (RFC 1035 §4.1.1: REFUSED for policy reasons).
      name: 'refused',
      run(ctx) {
        ctx.reply = replyTo(ctx.query!, RCODE.REFUSED, udpSize);
        return 'reply';
      },
    },
  ];
}

/**
 * Runs the chain from entry `from` until one replies or drops. Synchronous as long as the entries are
 * (the fast path and authority are), so a cached answer costs no promise. `ctx.step` names the entry
 * that ended the chain when this returns.
 */
export function runChain(chain: readonly ChainEntry[], ctx: QueryContext, from = 0): 'reply' | 'drop' | Promise<'reply' | 'drop'> {
  for (let i = from; i < chain.length; i++) {
    const entry = chain[i]!;
    ctx.step = entry.name;
    const result = entry.run(ctx);
    if (result === 'continue') continue;
    if (result instanceof Promise) return result.then((r) => (r === 'continue' ? runChain(chain, ctx, i + 1) : r));
    return result;
  }
  throw new Error('the query chain ended without an answer (its last entry must always reply)');
}
