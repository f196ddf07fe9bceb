/**
 * The steered fast path: encoded replies for pool names (A/AAAA answered by steering), so that the
 * query nearly every CDN client asks is answered without a decode, a steering walk and an encode.
 *
 * A steered reply depends on the question (name, type, class, RD/CD, EDNS/DO, ECS family and source
 * prefix: `PlainQuery.key`) and on the steering decision: the edges in order and the ECS scope, in the
 * deployment it was made for (`DynamicChoice.cacheKey`). The decision itself depends on the client's
 * location key (the geo network or configured CIDR its /24 or /56 falls in, memoised in GeoLocator)
 * and on the pool's health epoch (steering.ts keeps rankings per location and epoch). So a query here:
 *
 *   1. finds the entry for its question (the general path made one when it first answered it);
 *   2. asks steering which decision it gets, without side effects (`choose`);
 *   3. takes the encoded reply for that decision, or hands the query to the general path;
 *   4. gives the decision (`take`: round-robin turns, a weighted draw is used up, the answer counted)
 *      and patches the ID, the question as sent, RA and the ECS address into a copy (`copyReply`).
 *
 * Round-robin and weighted pools keep one encoding per distinct decision (a pool of n edges answering
 * k of them has at most n rotations; a weighted pool at most n!/(n-k)! orders, capped per entry below),
 * and the turn or draw still happens per query, in steering, exactly as on the general path.
 */
import { LRUCache } from 'lru-cache';
import type { AuthorityOutcome, DynamicAnswers } from './authority.js';
import type { ClientInfo } from './client.js';
import { copyReply, type PlainQuery } from './fastpath.js';
import { clientNetwork, ecsNetwork, type ClientNetwork } from './geo.js';

/** The decision a steered reply was made with (authority.ts `AuthorityOutcome.steered`). */
export type SteeredDecision = NonNullable<AuthorityOutcome['steered']>;

/** One encoded reply, with the decision it was made for (named by the query log on a hit). */
interface KeptReply {
  bytes: Buffer;
  decision: SteeredDecision;
}

/** One question's replies: the pool it asks for, and the encoded reply per decision. */
interface SteeredEntry {
  pool: string;
  type: 'A' | 'AAAA';
  byDecision: Map<string, KeptReply>;
}

/**
 * Encodings kept per question. A geo-nearest pool of 5 edges answering 1 has at most 5 edges x a few
 * scopes; a weighted pool of 8 answering 2 has 56 orders. Past the cap the entry starts over, so a
 * pathological pool costs encodes, never memory.
 */
const DECISIONS_PER_QUESTION = 64;

export class SteeredAnswerCache {
  private readonly entries: LRUCache<string, SteeredEntry>;
  hits = 0;

  constructor(
    private readonly steering: Required<Pick<DynamicAnswers, 'choose'>>,
    maxEntries = 10_000,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /**
   * The reply for `query` if we hold the encoding of the decision steering makes for this client and
   * it fits `limit` bytes; otherwise undefined, nothing given, and the general path answers (the same
   * decision, since choosing has no side effects). On a hit, `hit.steered` is set to the decision
   * (a reference kept since the store: no allocation), for the query log.
   */
  answer(query: Buffer, plain: PlainQuery, client: ClientInfo, limit: number, recursionAvailable: boolean, hit: { steered: SteeredDecision | undefined }): Buffer | undefined {
    const entry = this.entries.get(plain.key);
    if (!entry) return undefined;
    const choice = this.steering.choose(entry.pool, entry.type, () => networkOf(plain, client));
    if (!choice) return undefined;
    const kept = entry.byDecision.get(choice.cacheKey);
    if (!kept || kept.bytes.length > limit) return undefined;
    choice.take();
    this.hits++;
    hit.steered = kept.decision;
    return copyReply(kept.bytes, query, plain, recursionAvailable);
  }

  /**
   * Keeps a copy of the general path's reply (not truncated) for the decision it was made with. The copy
   * has RA cleared: RA is the one client-dependent header bit (RFC 1035 §4.1.1), set per query.
   */
  store(plain: PlainQuery, steered: SteeredDecision, reply: Buffer): void {
    const kept = Buffer.from(reply);
    kept[3] = kept[3]! & 0x7f;
    let entry = this.entries.get(plain.key);
    if (!entry || entry.pool !== steered.pool || entry.type !== steered.type) {
      entry = { pool: steered.pool, type: steered.type, byDecision: new Map() };
      this.entries.set(plain.key, entry);
    }
    if (entry.byDecision.size >= DECISIONS_PER_QUESTION) entry.byDecision.clear();
    entry.byDecision.set(steered.cacheKey, { bytes: kept, decision: steered });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The client's network as the general path finds it (geo.ts `clientNetwork`): ECS when present, else the source. */
function networkOf(plain: PlainQuery, client: ClientInfo): ClientNetwork | undefined {
  const ecs = plain.ecs;
  return ecs ? ecsNetwork(ecs.family, ecs.sourcePrefixLength, ecs.address) : clientNetwork(client);
}
