/**
 * An Upstream that sends each fill to the member of a consistent-hash ring that owns its cache key, and
 * everything else to a fallback Upstream (the origin, an origin pool, or the next ring). Two tiers use it:
 *
 * - `peers`: the edges of one cluster, or the workers of one host. This process is a member; a key it owns goes
 *   to the fallback (it fetches and keeps the object), a key another member owns is asked of that member (peer
 *   fill), and the answer is marked `fromPeer` so that this edge keeps it only as a hot local copy.
 * - `shield`: the edges of another site that this edge (or its cluster) asks instead of the origin. This process
 *   is not a member: every key goes to its owner there, and the answer is stored here as an origin answer.
 *
 * Rules, in order, for a request:
 * 1. Not a fill (no cache key, not GET, has a body): the fallback. Passes never cross between edges.
 * 2. Its hop list names a member of this ring: it already went round it. `peers`: the fallback (so a peer fill
 *    is never forwarded again); `shield`: a loop between sites, refused with 508 (never recursed).
 * 3. Owned by this process, or no member is up: the fallback.
 * 4. Else the owner is asked, with the authenticated hop header (ring/hops.ts). If it cannot be reached, does
 *    not answer within `timeoutMs`, or answers something that is not HTTP, the owner is ejected for `ejectMs`
 *    (its keys fall to their successors, passive health as nginx's max_fails=1) and the request goes to the
 *    fallback: a fill carries no body, so it can always be retried. A status, even a 5xx, is the owner's answer
 *    (the owner already tried the origin; asking again would double the origin's load).
 *
 * Membership: the members whose active probe (src/health) says up and that are not ejected. A change builds a
 * new ring (hash-ring.ts); a request already sent keeps its target, so in-flight fills finish across a change.
 */
import { HttpError } from '../../errors.js';
import { logger } from '../../log.js';
import { single } from '../headers.js';
import { HashRing } from '../ring/hash-ring.js';
import type { HopSigner } from '../ring/hops.js';
import { SingleOrigin } from './single-origin.js';
import type { Upstream, UpstreamRequest, UpstreamResult } from './upstream.js';

const log = logger('ring');

export interface RingMember {
  /** Ring member name: the edge name, or `edge#N` for a worker. */
  name: string;
  /** `http://host:port` where the member takes forwarded requests. */
  url: string;
}

export type RingTier = 'peers' | 'shield';

/** What the ring reports, for metrics. */
export type RingEvent = { tier: RingTier; kind: 'forward' | 'own' | 'fallback-after-failure' | 'eject' | 'loop'; member: string };

export interface PeerRingOptions {
  tier: RingTier;
  /** This process's member name (`peers` tier); absent for a shield. */
  self?: string;
  /** The name this process adds to the hop list when it forwards. */
  hopName: string;
  /** The other members (never this process). */
  members: readonly RingMember[];
  fallback: Upstream;
  signer: HopSigner;
  /** Time to the owner's response head before it counts as failed. */
  timeoutMs: number;
  /** How long a member that failed stays out of the ring. Default 10 s. */
  ejectMs?: number;
  /** Active health (src/health): is this member up? Default: always. */
  isUp?: (name: string) => boolean;
  now?: () => number;
  onEvent?: (e: RingEvent) => void;
}

const DEFAULT_EJECT_MS = 10_000;
/** Peer answers describe the peer's cache; this edge writes its own. */
const PEER_ANNOTATIONS = ['x-cache', 'cache-status'];

export class PeerRing implements Upstream {
  private members = new Map<string, { member: RingMember; client: SingleOrigin }>();
  private readonly ejectedUntil = new Map<string, number>();
  private ring: HashRing;
  private nextReadmission = Infinity;
  private readonly now: () => number;

  constructor(private readonly o: PeerRingOptions) {
    this.now = o.now ?? Date.now;
    this.setMembers(o.members);
    this.ring = this.build();
  }

  /** Replaces the member list (workers joining, config reload); members that stay keep their connections. */
  setMembers(members: readonly RingMember[]): void {
    const next = new Map<string, { member: RingMember; client: SingleOrigin }>();
    for (const m of members) {
      if (m.name === this.o.self) continue;
      const kept = this.members.get(m.name);
      if (kept && kept.member.url === m.url) next.set(m.name, kept);
      else next.set(m.name, { member: m, client: new SingleOrigin({ origin: m.url, timeoutMs: this.o.timeoutMs, maxSockets: 64 }) });
    }
    for (const [name, old] of this.members) if (next.get(name) !== old) old.client.close();
    this.members = next;
    this.refresh();
  }

  /** Rebuilds the ring from current health (health checkers call it on a change). */
  refresh(): void {
    this.ring = this.build();
  }

  /** The member owning a cache key now (this process's own name when it owns it). */
  ownerOf(cacheKey: string): string | undefined {
    this.readmitExpired();
    return this.ring.owner(cacheKey);
  }

  /** Current ring members, this process included. */
  get live(): readonly string[] {
    return this.ring.members;
  }

  async request(r: UpstreamRequest): Promise<UpstreamResult> {
    const key = r.cacheKey;
    if (key === undefined || r.method !== 'GET' || r.body !== undefined) return this.o.fallback.request(r);
    const hops = r.hops ?? [];
    const seen = hops.find((h) => h === this.o.self || this.members.has(h));
    if (seen !== undefined) {
      if (this.o.tier === 'peers') return this.o.fallback.request(r);
      this.o.onEvent?.({ tier: this.o.tier, kind: 'loop', member: seen });
      const error = new HttpError(508, `shield loop: the request already passed through ${seen} (hops: ${hops.join(', ')})`);
      return { kind: 'aborted', error, target: `shield ${seen}`, latencySec: 0 };
    }
    const owner = this.ownerOf(key);
    const target = owner === undefined ? undefined : this.members.get(owner);
    if (target === undefined) {
      if (owner !== undefined) this.o.onEvent?.({ tier: this.o.tier, kind: 'own', member: owner });
      return this.o.fallback.request(r);
    }
    this.o.onEvent?.({ tier: this.o.tier, kind: 'forward', member: owner! });
    const host = single(r.headers.host) ?? '';
    const headers = { ...r.headers, ...this.o.signer.sign([...hops, this.o.hopName], r.method, host, r.path) };
    const result = await target.client.request({ method: r.method, path: r.path, headers });
    if (result.kind === 'response') {
      const peerCache = single(result.response.headers['x-cache']);
      for (const h of PEER_ANNOTATIONS) delete result.response.headers[h];
      if (this.o.tier === 'peers') {
        result.fromPeer = true;
        if (peerCache !== undefined) result.peerCache = peerCache;
      }
      return result;
    }
    if (result.kind === 'aborted') return result;
    this.eject(owner!, result.error.message);
    this.o.onEvent?.({ tier: this.o.tier, kind: 'fallback-after-failure', member: owner! });
    return this.o.fallback.request(r);
  }

  close(): void {
    for (const { client } of this.members.values()) client.close();
    this.o.fallback.close();
  }

  private eject(name: string, reason: string): void {
    const until = this.now() + (this.o.ejectMs ?? DEFAULT_EJECT_MS);
    this.ejectedUntil.set(name, until);
    this.nextReadmission = Math.min(this.nextReadmission, until);
    log.warn('ring member ejected', { tier: this.o.tier, member: name, reason, forMs: this.o.ejectMs ?? DEFAULT_EJECT_MS });
    this.o.onEvent?.({ tier: this.o.tier, kind: 'eject', member: name });
    this.refresh();
  }

  /** Ejected members come back once their time is up (checked per fill: one comparison when nothing expired). */
  private readmitExpired(): void {
    const now = this.now();
    if (now < this.nextReadmission) return;
    this.nextReadmission = Infinity;
    for (const [name, until] of this.ejectedUntil) {
      if (until <= now) this.ejectedUntil.delete(name);
      else this.nextReadmission = Math.min(this.nextReadmission, until);
    }
    this.refresh();
  }

  private build(): HashRing {
    const names: string[] = this.o.self === undefined ? [] : [this.o.self];
    const isUp = this.o.isUp ?? (() => true);
    for (const name of this.members.keys()) if (!this.ejectedUntil.has(name) && isUp(name)) names.push(name);
    return new HashRing(names);
  }
}
