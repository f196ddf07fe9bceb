/**
 * Authoritative answers from our zones (RFC 1034 §4.3.2, RFC 2308, RFC 4592, RFC 8482), as values:
 * the outcome says what happened; response.ts turns it into a message. Nothing here throws for a
 * name that is missing or outside our zones.
 *
 * EXTENSION POINT (steering): `DynamicAnswers` lets another module answer A/AAAA for names it claims
 * (CDN pool names) from the client's location and edge health. See the interface below.
 */
import type { ClientInfo } from './client.js';
import type { ClientNetwork } from './geo.js';
import { nameKey } from './name.js';
import { RCODE, type Question, type RecordType, type ResourceRecord } from './types.js';

type SoaAnswer = Extract<ResourceRecord, { type: 'SOA' }>;
import type { RRset, Zone, ZoneNode, ZoneSet } from './zone/store.js';

/** Records a dynamic source chose for one query, and the RFC 7871 §7.2.1 scope they are valid for. */
export interface DynamicAnswer {
  /** A or AAAA records owned by the queried name (the authority sets the owner to the name asked). */
  records: ResourceRecord[];
  /** ECS scope prefix length to echo; 0 or absent = valid for every client. */
  scopePrefixLength?: number;
  /** Names the choice (see `DynamicChoice.cacheKey`): set when the answer may be kept encoded. */
  cacheKey?: string;
}

/**
 * A dynamic answer chosen but not yet given. `cacheKey` names everything the records depend on (the
 * deployment generation, the edges in order, the ECS scope): two choices with the same key for the same
 * question give the same bytes. `take()` makes the choice count as given: it turns a round-robin, uses
 * up a weighted draw and counts the answer, exactly as `answer()` does.
 */
export interface DynamicChoice {
  readonly cacheKey: string;
  take(): void;
}

/**
 * Contract for dynamic (steered) answers. The authority calls `claims(key)` for every name it reaches
 * inside our zones (key = lowercased, no trailing dot); for a claimed name and qtype A/AAAA it calls
 * `answer()`. A returned answer replaces the zone's records for that query (AA set, never cached as
 * encoded bytes); `undefined` falls back to the zone's own records. Other types (TXT, MX, ...) and
 * NXDOMAIN/NODATA always come from the zone, so a pool name must also exist in the zone file.
 * Both calls run on the hot path: they must be synchronous and cheap (no I/O).
 */
export interface DynamicAnswers {
  readonly name: string;
  claims(key: string): boolean;
  answer(name: string, type: 'A' | 'AAAA', client: ClientInfo): DynamicAnswer | undefined;
  /**
   * Optional, for the steered fast path (steered-cache.ts): the choice `answer()` would make for a client
   * in `network()` (asked only when the policy needs it; undefined: no usable client information),
   * without side effects until `take()`.
   */
  choose?(key: string, type: 'A' | 'AAAA', network: () => ClientNetwork | undefined): DynamicChoice | undefined;
}

export type OutcomeKind = 'answer' | 'nodata' | 'nxdomain' | 'referral' | 'refused';

export interface AuthorityOutcome {
  kind: OutcomeKind;
  rcode: number;
  /** RFC 1034 §4.3.2: set for data from our zones, clear for referrals. */
  aa: boolean;
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  /** The A/AAAA RRset in `answers` that rotates per query, and where it sits. */
  rotation?: { rrset: RRset; start: number; count: number };
  /** False when the answer depends on the client (dynamic answers): never reused as encoded bytes. */
  reusable: boolean;
  /** RFC 7871 scope prefix for the ECS option of the reply. */
  scopePrefixLength?: number;
  /** The asked name itself is steered (no CNAME before it): what the steered fast path keys its bytes by. */
  steered?: { pool: string; type: 'A' | 'AAAA'; cacheKey: string };
}

/** RFC 1034 §3.6.2: a chain this long is a loop or a misconfiguration; stop following. */
const MAX_CNAME_CHAIN = 8;

export interface AuthorityOptions {
  dynamicAnswers?: DynamicAnswers;
}

export class Authority {
  constructor(
    private readonly zones: () => ZoneSet,
    private readonly options: AuthorityOptions = {},
  ) {}

  /** True when a name falls inside one of our zones (the router sends everything else elsewhere). */
  covers(name: string): boolean {
    return this.zones().find(nameKey(name)) !== undefined;
  }

  answer(question: Question, client: ClientInfo): AuthorityOutcome {
    const zones = this.zones();
    let key = nameKey(question.name);
    let zone = zones.find(key);
    const out: AuthorityOutcome = { kind: 'refused', rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], additionals: [], reusable: true };
    if (!zone) return out;
    out.aa = true;
    const seen = new Set<string>();
    const dynamic = this.options.dynamicAnswers;

    for (let hop = 0; zone && hop <= MAX_CNAME_CHAIN && !seen.has(key); hop++) {
      seen.add(key);
      if (dynamic && dynamic.claims(key)) {
        out.reusable = false;
        if (question.type === 'A' || question.type === 'AAAA') {
          const chosen = dynamic.answer(key, question.type, client);
          if (chosen) {
            for (const r of chosen.records) out.answers.push({ ...r, name: key } as ResourceRecord);
            if (chosen.scopePrefixLength !== undefined) out.scopePrefixLength = chosen.scopePrefixLength;
            if (hop === 0 && chosen.cacheKey !== undefined) out.steered = { pool: key, type: question.type, cacheKey: chosen.cacheKey };
            return this.finish(out, 'answer', RCODE.NOERROR, zones);
          }
        }
      }
      const found = zone.lookup(key);
      if (found.kind === 'delegation') {
        // RFC 1034 §4.3.2 step 3b: refer to the child's servers. After a CNAME the answer so far stays authoritative.
        const ns = found.cut.rrsets.get('NS')!;
        out.authorities.push(...ns.records);
        for (const r of ns.records) if (r.type === 'NS') this.addAddresses(out, r.data, zones);
        if (out.answers.length === 0) out.aa = false;
        out.kind = out.answers.length === 0 ? 'referral' : 'answer';
        out.rcode = RCODE.NOERROR;
        return out;
      }
      if (found.kind === 'nxdomain') {
        // RFC 6604 §3: after a CNAME chain the rcode describes the last name.
        out.authorities.push(negativeSoa(zone));
        return this.finish(out, 'nxdomain', RCODE.NXDOMAIN, zones);
      }
      // Wildcard answers are owned by the name asked (RFC 4592 §3.3.1); exact ones by the zone's spelling.
      const node = found.node;
      const owner = found.kind === 'exact' ? node.name : key;
      const rrset = pickRRset(node, question.type);
      if (rrset) {
        const start = out.answers.length;
        for (const r of rrset.records) out.answers.push(owner === r.name ? r : ({ ...r, name: owner } as ResourceRecord));
        if ((rrset.type === 'A' || rrset.type === 'AAAA') && rrset.records.length > 1) out.rotation = { rrset, start, count: rrset.records.length };
        return this.finish(out, 'answer', RCODE.NOERROR, zones);
      }
      const cname = node.rrsets.get('CNAME');
      if (!cname) {
        out.authorities.push(negativeSoa(zone));
        return this.finish(out, 'nodata', RCODE.NOERROR, zones);
      }
      const record = cname.records[0]!;
      out.answers.push(owner === record.name ? record : ({ ...record, name: owner } as ResourceRecord));
      key = nameKey(record.data as string);
      zone = zones.find(key);
    }
    // The chain left our zones (or looped): answer with the CNAMEs so far; a resolver follows the rest.
    return this.finish(out, 'answer', RCODE.NOERROR, zones);
  }

  private finish(out: AuthorityOutcome, kind: OutcomeKind, rcode: number, zones: ZoneSet): AuthorityOutcome {
    out.kind = kind;
    out.rcode = rcode;
    for (const r of out.answers) {
      if (r.type === 'MX') this.addAddresses(out, r.data.exchange, zones);
      else if (r.type === 'SRV') this.addAddresses(out, r.data.target, zones);
      else if (r.type === 'NS') this.addAddresses(out, r.data, zones);
    }
    return out;
  }

  /** RFC 1035 §3.3.9 / RFC 2782: addresses of NS, MX and SRV targets we hold go in the additional section. */
  private addAddresses(out: AuthorityOutcome, target: string, zones: ZoneSet): void {
    const key = nameKey(target);
    const node = zones.find(key)?.node(key);
    if (!node) return;
    for (const type of ['A', 'AAAA'] as const) {
      const rrset = node.rrsets.get(type);
      if (!rrset) continue;
      for (const r of rrset.records) {
        if (!out.additionals.includes(r) && !out.answers.includes(r)) out.additionals.push(r);
      }
    }
  }
}

/** ANY gets one RRset (RFC 8482 §4.1); other types their own RRset. */
function pickRRset(node: ZoneNode, type: RecordType | 'ANY'): RRset | undefined {
  if (type !== 'ANY') return node.rrsets.get(type);
  for (const rrset of node.rrsets.values()) return rrset;
  return undefined;
}

/** RFC 2308 §3: the SOA in a negative answer carries min(SOA TTL, SOA MINIMUM). */
function negativeSoa(zone: Zone): SoaAnswer {
  const soa = zone.soa.records[0] as SoaAnswer;
  return { ...soa, ttl: Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0) };
}
