/**
 * `s3-fifo`: Simple, Scalable, Static FIFO queues (Yang, Zhang, Qiu, Yue, Vinayak, "FIFO queues are all you
 * need for cache eviction", SOSP 2023), with queue budgets counted in bytes.
 *
 *   new object -> small FIFO (10 % of bytes) --hit while there--> main FIFO (90 %)
 *                        \--not hit--> ghost (key only) --asked again--> main
 *
 * - Quick demotion: most new objects are one-hit wonders and leave the small queue without reaching main.
 * - Main is a FIFO with lazy promotion: a leaving object with hits left is re-inserted at the head with one
 *   hit less (a 2-bit counter, 0..3), as in CLOCK.
 * - A hit only increments the object's counter: no pointer moves at all, O(1), no allocation.
 * - The ghost queue holds as many keys as main is expected to hold objects (capacity.ts), fixed size.
 * Pushed objects (`always`) go straight to main with the highest count. Eviction keeps small + main <= maxBytes after every call.
 */
import { ByteQueue } from './byte-queue.js';
import { expectedEntries } from './capacity.js';
import type { Admission, EvictionPolicy, PolicyOptions, RemovalReason, Sized } from './eviction-policy.js';
import { GhostQueue } from './ghost-queue.js';
import { PolicyNode, QueuedPolicy } from './queued-policy.js';

/** The paper's small-queue share, "10 % of the cache size". */
const SMALL_SHARE = 0.1;
/** 2-bit frequency: the paper caps the counter at 3. */
const MAX_FREQUENCY = 3;

/** Most entries wouldAdmit walks: bounds the work of one fill's head; past it the prediction is a refusal. */
const MAX_PREDICTION_SCAN = 256;

class FifoNode<E> extends PolicyNode<E> {
  frequency = 0;
  constructor(key: string, entry: E, size: number, hash: number, public inMain: boolean) {
    super(key, entry, size, hash);
  }
}

export class S3FifoPolicy<E extends Sized> extends QueuedPolicy<E, FifoNode<E>> implements EvictionPolicy<E> {
  readonly name = 's3-fifo' as const;
  readonly maxBytes: number;
  readonly smallMax: number;
  rejections = 0;
  private readonly small = new ByteQueue<FifoNode<E>>();
  private readonly main = new ByteQueue<FifoNode<E>>();
  /** Main (newest first), then small. */
  protected readonly queues = [this.main, this.small];
  private readonly ghost: GhostQueue;
  private readonly onRemove: (key: string, entry: E, reason: RemovalReason) => void;

  constructor(options: PolicyOptions<E>) {
    super(options.hashSeed);
    this.maxBytes = options.maxBytes;
    this.smallMax = Math.max(1, Math.floor(options.maxBytes * SMALL_SHARE));
    const entries = expectedEntries(options.maxBytes, options.expectedObjectBytes);
    this.ghost = new GhostQueue(Math.max(1, Math.floor(entries * (1 - SMALL_SHARE))));
    this.onRemove = options.onRemove;
  }

  get(key: string): E | undefined {
    const node = this.nodes.get(key);
    if (node === undefined) return undefined;
    if (node.frequency < MAX_FREQUENCY) node.frequency++;
    return node.entry;
  }

  set(key: string, entry: E, admission: Admission): boolean {
    const size = Math.max(1, entry.size);
    const held = this.nodes.get(key);
    if (held !== undefined) {
      held.entry = entry;
      (held.inMain ? this.main : this.small).resize(held, size);
      this.evictOverflow();
      return this.nodes.has(key);
    }
    if (size > this.maxBytes) return false;
    const hash = this.hashOf(key);
    const toMain = admission === 'always' || this.ghost.contains(hash);
    const node = new FifoNode(key, entry, size, hash, toMain);
    // The operator asked for a pushed object: it enters main as valued as the most used ones, so main's
    // lazy promotion takes others first and it survives the eviction its own insertion causes.
    if (admission === 'always') node.frequency = MAX_FREQUENCY;
    return this.insert(node, toMain ? this.main : this.small, () => this.evictOverflow());
  }

  /**
   * Replays evictOverflow's decisions without making them. A held key, or one whose ghost is remembered (it goes
   * to main, which makes room for it), stays. A new one enters small at the head; while the total is over,
   * small's oldest leave first, and it is itself evicted only if it is larger than small's share and the
   * entries ahead of it that would be discarded (not hit while in small) free too little.
   */
  wouldAdmit(key: string, size: number): boolean {
    const charged = Math.max(1, size);
    if (this.nodes.has(key)) return true;
    if (charged > this.maxBytes) return false;
    let overflow = this.small.bytes + this.main.bytes + charged - this.maxBytes;
    if (overflow <= 0 || charged <= this.smallMax || this.ghost.contains(this.hashOf(key))) return true;
    let scanned = 0;
    for (let older = this.small.tail(); older !== undefined && scanned < MAX_PREDICTION_SCAN; older = this.small.towardsHead(older), scanned++) {
      if (older.frequency === 0) overflow -= older.size;
      if (overflow <= 0) return true;
    }
    return false;
  }

  delete(key: string): boolean {
    const node = this.nodes.get(key);
    if (node === undefined) return false;
    (node.inMain ? this.main : this.small).remove(node);
    this.nodes.delete(key);
    this.onRemove(key, node.entry, 'delete');
    return true;
  }

  private evictOverflow(): void {
    while (this.small.bytes + this.main.bytes > this.maxBytes) {
      if (this.small.bytes > this.smallMax || this.main.length === 0) this.evictSmall();
      else this.evictMain();
    }
  }

  /** The small queue's oldest: to main if it was hit while there, else out (its key to the ghost queue). */
  private evictSmall(): void {
    const oldest = this.small.tail()!;
    this.small.remove(oldest);
    if (oldest.frequency > 0) {
      oldest.frequency = 0;
      oldest.inMain = true;
      this.main.pushHead(oldest);
      return;
    }
    this.ghost.add(oldest.hash);
    this.discard(oldest);
  }

  /** Main's oldest: re-inserted with one hit less if it was hit at all (lazy promotion), else out. */
  private evictMain(): void {
    const oldest = this.main.tail()!;
    this.main.remove(oldest);
    if (oldest.frequency > 0) {
      oldest.frequency--;
      this.main.pushHead(oldest);
      return;
    }
    this.discard(oldest);
  }

  private discard(node: FifoNode<E>): void {
    this.nodes.delete(node.key);
    if (node === this.offering) this.rejections++;
    else this.onRemove(node.key, node.entry, 'evict');
  }
}
