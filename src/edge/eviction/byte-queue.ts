/**
 * An intrusive doubly-linked queue that counts the bytes of its members: the building block of the
 * policies' windows, segments and FIFOs. Nodes carry their own links, so moving one is a few pointer
 * writes: O(1) and no allocation, which is what keeps a hit cheap.
 *
 * Orientation: the head is the most recently inserted (or promoted) member, the tail the next to leave.
 */
export class QueueNode {
  prev: QueueNode | null = null;
  next: QueueNode | null = null;
  constructor(public size: number) {}
}

export class ByteQueue<N extends QueueNode> {
  private readonly sentinel = new QueueNode(0);
  bytes = 0;
  length = 0;

  constructor() {
    this.sentinel.prev = this.sentinel;
    this.sentinel.next = this.sentinel;
  }

  /** The member that leaves next, or undefined when empty. */
  tail(): N | undefined {
    const t = this.sentinel.prev!;
    return t === this.sentinel ? undefined : (t as N);
  }

  /** The member that leaves after `node` (one step towards the head), or undefined when `node` is the head. */
  towardsHead(node: N): N | undefined {
    const p = node.prev!;
    return p === this.sentinel ? undefined : (p as N);
  }

  pushHead(node: N): void {
    const first = this.sentinel.next!;
    node.prev = this.sentinel;
    node.next = first;
    first.prev = node;
    this.sentinel.next = node;
    this.bytes += node.size;
    this.length++;
  }

  remove(node: N): void {
    node.prev!.next = node.next;
    node.next!.prev = node.prev;
    node.prev = null;
    node.next = null;
    this.bytes -= node.size;
    this.length--;
  }

  /** Moves a member to the head (a use, for LRU order). */
  moveToHead(node: N): void {
    if (this.sentinel.next === node) return;
    node.prev!.next = node.next;
    node.next!.prev = node.prev;
    const first = this.sentinel.next!;
    node.prev = this.sentinel;
    node.next = first;
    first.prev = node;
    this.sentinel.next = node;
  }

  /** Changes a member's size in place (an entry replaced by a new version). */
  resize(node: N, size: number): void {
    this.bytes += size - node.size;
    node.size = size;
  }

  /** Members from head (newest) to tail. */
  *values(): IterableIterator<N> {
    for (let n = this.sentinel.next!; n !== this.sentinel; n = n.next!) yield n as N;
  }

  clear(): void {
    this.sentinel.prev = this.sentinel;
    this.sentinel.next = this.sentinel;
    this.bytes = 0;
    this.length = 0;
  }
}
