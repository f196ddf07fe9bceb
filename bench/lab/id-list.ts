/**
 * Doubly linked lists of object ids over shared typed arrays: the prototypes' queues. An id is in at most one
 * list at a time (`owner`), so one pair of link arrays serves every list of a policy. O(1) push, remove, move.
 */
export class IdLists {
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Which list holds the id, or -1. */
  readonly owner: Int8Array;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  /** Ids per list, and the summed sizes of the ids per list. */
  readonly count: Float64Array;
  readonly bytes: Float64Array;

  constructor(ids: number, lists: number) {
    this.prev = new Int32Array(ids).fill(-1);
    this.next = new Int32Array(ids).fill(-1);
    this.owner = new Int8Array(ids).fill(-1);
    this.head = new Int32Array(lists).fill(-1);
    this.tail = new Int32Array(lists).fill(-1);
    this.count = new Float64Array(lists);
    this.bytes = new Float64Array(lists);
  }

  /** Adds at the head (most recent end). */
  pushHead(list: number, id: number, size: number): void {
    const h = this.head[list]!;
    this.prev[id] = -1;
    this.next[id] = h;
    if (h >= 0) this.prev[h] = id;
    else this.tail[list] = id;
    this.head[list] = id;
    this.owner[id] = list;
    this.count[list]!++;
    this.bytes[list]! += size;
  }

  remove(id: number, size: number): void {
    const list = this.owner[id]!;
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p >= 0) this.next[p] = n;
    else this.head[list] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail[list] = p;
    this.owner[id] = -1;
    this.count[list]!--;
    this.bytes[list]! -= size;
  }

  /** The least recent id of a list, or -1. */
  tailOf(list: number): number {
    return this.tail[list]!;
  }

  /** The id before `id` towards the head, or -1. */
  towardsHead(id: number): number {
    return this.prev[id]!;
  }
}
