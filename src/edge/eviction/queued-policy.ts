/**
 * What the queue-based policies (w-tinylfu, s3-fifo) share: the map from key to node, and the read-only
 * views over their queues. Each policy keeps its own rules for hits, admission and eviction.
 */
import { hashKey, randomHashSeed } from './key-hash.js';
import { ByteQueue, QueueNode } from './byte-queue.js';
import type { Sized } from './eviction-policy.js';

/** An entry in a policy's queue: the key, the stored entry and the key's hash (computed once, at insert). */
export class PolicyNode<E> extends QueueNode {
  constructor(
    readonly key: string,
    public entry: E,
    size: number,
    readonly hash: number,
  ) {
    super(size);
  }
}

export abstract class QueuedPolicy<E extends Sized, N extends PolicyNode<E>> {
  protected readonly nodes = new Map<string, N>();
  /** The policy's queues, in the order `entries()` lists them (most valued first). */
  protected abstract readonly queues: ReadonlyArray<ByteQueue<N>>;
  /** The node a `set` is offering: refused within that call, it is not reported as a removal (the contract). */
  protected offering: N | undefined;
  /** Seed of the key hash (key-hash.ts): random per policy unless given (reproducible replays). */
  private readonly hashSeed: number;

  constructor(hashSeed: number | undefined) {
    this.hashSeed = hashSeed ?? randomHashSeed();
  }

  /** The key's hash for the policy's fixed tables; computed once per stored object (nodes keep it). */
  protected hashOf(key: string): number {
    return hashKey(key, this.hashSeed);
  }

  /** Indexes a new node, queues it, and runs `makeRoom` with it marked as offered; returns whether it stayed. */
  protected insert(node: N, queue: ByteQueue<N>, makeRoom: () => void): boolean {
    this.nodes.set(node.key, node);
    queue.pushHead(node);
    this.offering = node;
    try {
      makeRoom();
    } finally {
      this.offering = undefined;
    }
    return this.nodes.has(node.key);
  }

  peek(key: string): E | undefined {
    return this.nodes.get(key)?.entry;
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  *entries(): IterableIterator<[string, E]> {
    for (const q of this.queues) for (const n of q.values()) yield [n.key, n.entry];
  }

  clear(): void {
    this.nodes.clear();
    for (const q of this.queues) q.clear();
  }

  get bytes(): number {
    let total = 0;
    for (const q of this.queues) total += q.bytes;
    return total;
  }

  get size(): number {
    return this.nodes.size;
  }
}
