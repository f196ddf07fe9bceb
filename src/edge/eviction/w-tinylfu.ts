/**
 * `w-tinylfu`: Window TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission
 * Policy", ACM ToS 2017; the design Caffeine ships), counting bytes and made size-aware.
 *
 *   new object -> window LRU (1 % of bytes) -> candidate -> admission -> main SLRU: probation (20 %) + protected (80 %)
 *
 * - The window gives every new object a short life to prove itself (recency bursts are served).
 * - Leaving the window, a candidate may enter the main space only by displacing the victims at the tail of
 *   probation (then protected) that make room for it. Size-aware admission: its popularity per byte (sketch
 *   estimate / size) must exceed that of those victims together (sum of estimates / bytes freed). Each
 *   cached byte should earn as many hits as possible, so a 1 MiB object that would push out 200 small ones
 *   must be asked for more than those 200 together, and a small object may displace a large, somewhat more
 *   popular one (the idea of AdaptSize and LRB: size is a cost, not only a bound). With equal sizes it is
 *   TinyLFU's rule (candidate frequency > victim frequency; ties keep the victim). Measured on the Zipf
 *   traces at 5-10 % (fixed 1 % window, sketch for 1 x the entries): 61-67 % of the LRU->OPT gap closed
 *   per byte, against 53-59 % comparing counts alone.
 * - The window's share adapts by hill climbing, as Caffeine does: every sample period (10 x the expected
 *   entries in requests) the hit ratio is compared with the previous period's; while it improves the
 *   window keeps moving the same way, otherwise it turns. Recency-heavy traces (cache2k web) grow the
 *   window, frequency-heavy ones (Zipf) shrink it; a fixed 1 % lost up to 6 points to LRU on cache2k-web12.
 * - A scan of new keys each seen once (doorkeeper estimate 1) cannot displace anything asked for twice.
 * - A hit in probation promotes to protected; protected overflow is demoted to probation's head.
 *
 * Bound: main never holds more than mainMax (admission and pushes evict first), the window's overflow leaves
 * through admission, and the climber only moves entries between the two, so the total never exceeds
 * windowMax + mainMax = maxBytes (tested under random operations). Pushed objects (`always`) enter protected directly and evict from main without a
 * comparison. Work per hit: a map lookup, one sketch increment (4 counters, 3 doorkeeper bits) and a few
 * pointer writes; no allocation.
 */
import { ByteQueue } from './byte-queue.js';
import { expectedEntries } from './capacity.js';
import type { Admission, EvictionPolicy, PolicyOptions, RemovalReason, Sized } from './eviction-policy.js';
import { FrequencySketch } from './frequency-sketch.js';
import { PolicyNode, QueuedPolicy } from './queued-policy.js';

/** Caffeine's initial window share, from which the hill climber starts. */
const WINDOW_SHARE = 0.01;
/** The climber's limits for the window: it never takes over main entirely. */
const MAX_WINDOW_SHARE = 0.8;
/**
 * The climber (after Caffeine's): a sample period of 10 x the expected entries (Caffeine's own period; the
 * sketch ages over 4 times as long, see SKETCH_ENTRIES_FACTOR), a step of 3 % of the cache, restarted on a
 * hit-ratio change of 5 points, else decayed by 2 %. Measured with bench:hit-ratio against the earlier
 * period (the sketch's, 40 x) and Caffeine's 6.25 % step: on cache2k-web07/-web12 at 5 and 10 % the share of
 * the LRU->OPT gap closed rose from 20/9/22/17 % to 25/14/35/29 %, on the Zipf traces it moved by -4 to +3
 * points (all still 65-75 %). A shorter period with the 6.25 % step wandered on Zipf (down to 55 % at 25 %).
 */
const CLIMB_PERIOD_FACTOR = 10;
const CLIMB_STEP_SHARE = 0.03;
const CLIMB_RESTART_THRESHOLD = 0.05;
const CLIMB_STEP_DECAY = 0.98;
/** Share of the main space kept for entries hit at least twice (Caffeine's SLRU split). */
const PROTECTED_SHARE = 0.8;
/**
 * Most victims one admission compares against: a candidate as large as the max object size may need many
 * small victims to make room. Past the cap it is refused; bounds the work of one miss.
 */
const MAX_VICTIMS = 256;
/**
 * The sketch counts for 4 x the expected number of objects (maxBytes / mean object size). Size-aware
 * admission fills the cache with smaller-than-average objects, so it holds several times that count, and
 * the sample period (10 x width) then spans 40 x the expected entries: popularity over a longer history.
 * Measured with bench:hit-ratio: on the Zipf traces at 5-10 % it raised the share of the LRU->OPT gap
 * closed from 55-64 % to 67-74 %; on cache2k it moved it by -7 to +2 points. Cost: fixed tables of
 * 3 MiB for a 256 MB store at the default 4 KiB expected object size (counters 1 MiB, doorkeeper 2 MiB).
 */
const SKETCH_ENTRIES_FACTOR = 4;

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
type Region = typeof WINDOW | typeof PROBATION | typeof PROTECTED;

class TinyLfuNode<E> extends PolicyNode<E> {
  constructor(key: string, entry: E, size: number, hash: number, public region: Region) {
    super(key, entry, size, hash);
  }
}

export class WTinyLfuPolicy<E extends Sized> extends QueuedPolicy<E, TinyLfuNode<E>> implements EvictionPolicy<E> {
  readonly name = 'w-tinylfu' as const;
  readonly maxBytes: number;
  /** Byte budgets of the regions: windowMax + mainMax = maxBytes; the climber moves the split. */
  windowMax: number;
  mainMax: number;
  protectedMax: number;
  readonly sketch: FrequencySketch;
  rejections = 0;
  private readonly window = new ByteQueue<TinyLfuNode<E>>();
  private readonly probation = new ByteQueue<TinyLfuNode<E>>();
  private readonly protected = new ByteQueue<TinyLfuNode<E>>();
  /** Protected (most recent first), then probation, then the window. */
  protected readonly queues = [this.protected, this.probation, this.window];
  private readonly onRemove: (key: string, entry: E, reason: RemovalReason) => void;
  private sampleHits = 0;
  private sampleMisses = 0;
  private previousHitRatio = 0;
  private climbStep: number;
  private readonly climbPeriod: number;

  constructor(options: PolicyOptions<E>) {
    super(options.hashSeed);
    this.maxBytes = options.maxBytes;
    this.windowMax = 0;
    this.mainMax = 0;
    this.protectedMax = 0;
    this.setWindow(Math.floor(options.maxBytes * WINDOW_SHARE));
    this.climbStep = CLIMB_STEP_SHARE * options.maxBytes;
    this.sketch = new FrequencySketch(SKETCH_ENTRIES_FACTOR * expectedEntries(options.maxBytes, options.expectedObjectBytes));
    // At least 64 requests, so that a tiny cache's hit ratio per period is not mostly noise.
    this.climbPeriod = Math.max(64, Math.round(CLIMB_PERIOD_FACTOR * expectedEntries(options.maxBytes, options.expectedObjectBytes)));
    this.onRemove = options.onRemove;
  }

  get(key: string): E | undefined {
    const node = this.nodes.get(key);
    if (node === undefined) return undefined;
    this.sketch.increment(node.hash);
    this.touch(node);
    if (++this.sampleHits + this.sampleMisses >= this.climbPeriod) this.climb();
    return node.entry;
  }

  set(key: string, entry: E, admission: Admission): boolean {
    const size = Math.max(1, entry.size);
    const held = this.nodes.get(key);
    if (held !== undefined) {
      // A new version of an admitted object (revalidated, re-fetched or pushed): it keeps its place.
      held.entry = entry;
      this.queueOf(held.region).resize(held, size);
      this.touch(held);
      this.enforceBounds(held);
      return this.nodes.has(key);
    }
    const hash = this.hashOf(key);
    this.sketch.increment(hash);
    if (this.sampleHits + ++this.sampleMisses >= this.climbPeriod) this.climb();
    if (size >= this.maxBytes) return false; // the window keeps at least one byte
    // An object larger than main's current share (the climber grew the window): give main room for it.
    if (size > this.mainMax) this.setWindow(this.maxBytes - size);
    if (admission === 'always') {
      const pushed = new TinyLfuNode(key, entry, size, hash, PROTECTED);
      return this.insert(pushed, this.protected, () => this.enforceBounds(pushed));
    }
    return this.insert(new TinyLfuNode(key, entry, size, hash, WINDOW), this.window, () => this.drainWindow());
  }

  /**
   * A new entry enters the window at its head and the window drains from its tail, so one that fits the
   * window's share stays there (its admission to main comes later, like any eviction). A larger one leaves
   * the window at once: admission compares it with main's victims, read-only here.
   */
  wouldAdmit(key: string, size: number): boolean {
    const charged = Math.max(1, size);
    if (this.nodes.has(key)) return true;
    if (charged >= this.maxBytes) return false;
    if (charged <= this.windowMax) return true;
    const needed = this.probation.bytes + this.protected.bytes + charged - Math.max(this.mainMax, charged);
    // set() counts the offer in the sketch before admission; the prediction counts it too.
    return needed <= 0 || this.denserThanVictims(this.sketch.estimate(this.hashOf(key)) + 1, charged, needed);
  }

  delete(key: string): boolean {
    const node = this.nodes.get(key);
    if (node === undefined) return false;
    this.drop(node, 'delete');
    return true;
  }

  /** Bytes per region, for tests of the bound. */
  regionBytes(): { window: number; probation: number; protected: number } {
    return { window: this.window.bytes, probation: this.probation.bytes, protected: this.protected.bytes };
  }

  /** A use: LRU order within the region, and promotion from probation to protected. */
  private touch(node: TinyLfuNode<E>): void {
    if (node.region === PROBATION) {
      this.probation.remove(node);
      node.region = PROTECTED;
      this.protected.pushHead(node);
      this.demoteProtectedOverflow();
    } else if (node.region === PROTECTED) {
      this.protected.moveToHead(node);
    } else {
      this.window.moveToHead(node);
    }
  }

  private demoteProtectedOverflow(): void {
    while (this.protected.bytes > this.protectedMax) {
      const last = this.protected.tail()!;
      this.protected.remove(last);
      last.region = PROBATION;
      this.probation.pushHead(last);
    }
  }

  /** Candidates leave the window from its LRU end until it fits its share. */
  private drainWindow(): void {
    while (this.window.bytes > this.windowMax) {
      const candidate = this.window.tail()!;
      this.window.remove(candidate);
      this.admitOrRefuse(candidate);
    }
  }

  private admitOrRefuse(candidate: TinyLfuNode<E>): void {
    const needed = this.probation.bytes + this.protected.bytes + candidate.size - this.mainMax;
    if (needed > 0 && !this.denserThanVictims(this.sketch.estimate(candidate.hash), candidate.size, needed)) {
      this.nodes.delete(candidate.key);
      this.rejections++;
      if (candidate !== this.offering) this.onRemove(candidate.key, candidate.entry, 'evict');
      return;
    }
    candidate.region = PROBATION;
    this.probation.pushHead(candidate);
    this.evictMainOverflow(candidate);
  }

  /**
   * Does the candidate earn more hits per byte than the victims that would make `needed` bytes of room, taken
   * in eviction order (probation's tail first, then protected's)? Compares estimate / size without division:
   * candidate x freed > victims x candidate size. Reads only; evicts nothing.
   */
  private denserThanVictims(candidateFrequency: number, candidateSize: number, needed: number): boolean {
    let freed = 0;
    let victimFrequency = 0;
    let scanned = 0;
    let victim = this.probation.tail();
    let inProbation = true;
    while (freed < needed) {
      if (victim === undefined) {
        if (!inProbation) return false;
        inProbation = false;
        victim = this.protected.tail();
        continue;
      }
      freed += victim.size;
      victimFrequency += this.sketch.estimate(victim.hash);
      if (++scanned >= MAX_VICTIMS) return false;
      victim = (inProbation ? this.probation : this.protected).towardsHead(victim);
    }
    return candidateFrequency * freed > victimFrequency * candidateSize;
  }

  /**
   * Hill climbing on the window's share (Caffeine's `climb`): keep the direction while the hit ratio of the
   * last sample beats the one before, turn otherwise; a big change restarts the step, else it decays.
   */
  private climb(): void {
    const hitRatio = this.sampleHits / (this.sampleHits + this.sampleMisses);
    const change = hitRatio - this.previousHitRatio;
    const amount = change >= 0 ? this.climbStep : -this.climbStep;
    this.climbStep = Math.abs(change) >= CLIMB_RESTART_THRESHOLD ? CLIMB_STEP_SHARE * this.maxBytes * Math.sign(amount || 1) : CLIMB_STEP_DECAY * amount;
    this.previousHitRatio = hitRatio;
    this.sampleHits = 0;
    this.sampleMisses = 0;
    this.setWindow(this.windowMax + Math.round(amount));
  }

  /**
   * Moves the window/main split. Entries cross at the LRU ends (main's least recent into the window when it
   * grows, the window's least recent into probation when it shrinks), so nothing is evicted and the total,
   * and with it the byte bound, does not change.
   */
  private setWindow(windowBytes: number): void {
    this.windowMax = Math.min(Math.floor(this.maxBytes * MAX_WINDOW_SHARE), Math.max(1, windowBytes));
    this.mainMax = this.maxBytes - this.windowMax;
    this.protectedMax = Math.floor(this.mainMax * PROTECTED_SHARE);
    while (this.probation.bytes + this.protected.bytes > this.mainMax) {
      const moving = this.probation.tail() ?? this.protected.tail()!;
      this.queueOf(moving.region).remove(moving);
      moving.region = WINDOW;
      this.window.pushHead(moving);
    }
    for (let moving = this.window.tail(); moving !== undefined && this.window.bytes > this.windowMax; moving = this.window.tail()) {
      if (this.probation.bytes + this.protected.bytes + moving.size > this.mainMax) break;
      this.window.remove(moving);
      moving.region = PROBATION;
      this.probation.pushHead(moving);
    }
    // Main is full and the window's next entry does not fit: the window shrinks only this far. Its share is
    // what it holds, so each region stays within its own budget (a later resize in main evicts only main's
    // overflow, and would otherwise leave the total above maxBytes), and no hit ever evicts.
    if (this.window.bytes > this.windowMax) {
      this.windowMax = this.window.bytes;
      this.mainMax = this.maxBytes - this.windowMax;
      this.protectedMax = Math.floor(this.mainMax * PROTECTED_SHARE);
    }
    this.demoteProtectedOverflow();
  }

  /** Evicts from main (probation's tail, then protected's) until it fits, sparing `keep` while others remain. */
  private evictMainOverflow(keep: TinyLfuNode<E>): void {
    while (this.probation.bytes + this.protected.bytes > this.mainMax) {
      let victim = this.probation.tail();
      if (victim === keep) victim = this.probation.towardsHead(keep);
      if (victim === undefined) victim = this.protected.tail();
      if (victim === keep) victim = this.protected.towardsHead(keep);
      if (victim === undefined) victim = keep;
      this.drop(victim, 'evict');
    }
  }

  /** After a resize or a pushed insert: both regions back within their shares. */
  private enforceBounds(node: TinyLfuNode<E>): void {
    this.demoteProtectedOverflow();
    if (node.region === WINDOW) this.drainWindow();
    else this.evictMainOverflow(node);
  }

  private drop(node: TinyLfuNode<E>, reason: RemovalReason): void {
    this.queueOf(node.region).remove(node);
    this.nodes.delete(node.key);
    this.onRemove(node.key, node.entry, reason);
  }

  private queueOf(region: Region): ByteQueue<TinyLfuNode<E>> {
    return region === WINDOW ? this.window : region === PROBATION ? this.probation : this.protected;
  }
}
