/**
 * A request trace in the compact form the replays use: each request is an object id (an index into
 * `sizes`), so the simulators work on typed arrays instead of strings.
 *
 * An object is a (key, size) pair: a key seen again with another size is a new version of the object
 * and counts as a different object (a cache holding the old version would not serve it).
 */
export interface Trace {
  readonly name: string;
  /** Object id of each request, in trace order. */
  readonly requests: Uint32Array;
  /** Size in bytes of each object id. */
  readonly sizes: Float64Array;
  /** True when the source has no sizes (every size is 1): cache sizes are then counted in objects. */
  readonly countOnly: boolean;
}

/** Totals used to express cache sizes as a share of the trace. */
export interface TraceTotals {
  requests: number;
  objects: number;
  requestedBytes: number;
  uniqueBytes: number;
}

/** Only requested objects count: a synthetic catalogue may hold objects the sample never drew. */
export function traceTotals(trace: Trace): TraceTotals {
  const seen = new Uint8Array(trace.sizes.length);
  let requestedBytes = 0;
  let objects = 0;
  let uniqueBytes = 0;
  for (const id of trace.requests) {
    const size = trace.sizes[id]!;
    requestedBytes += size;
    if (seen[id] === 0) {
      seen[id] = 1;
      objects++;
      uniqueBytes += size;
    }
  }
  return { requests: trace.requests.length, objects, requestedBytes, uniqueBytes };
}

/**
 * For each request i, the index of the next request for the same object, or `requests.length`
 * when there is none. Belady's policy and the interval bound both need it.
 */
export function nextUseIndex(trace: Trace): Uint32Array {
  const n = trace.requests.length;
  const next = new Uint32Array(n);
  const seenAt = new Uint32Array(trace.sizes.length).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    const id = trace.requests[i]!;
    next[i] = seenAt[id]!;
    seenAt[id] = i;
  }
  return next;
}

/** Builds a Trace incrementally, interning (key, size) pairs into object ids. */
export class TraceBuilder {
  private readonly ids = new Map<string, number>();
  private readonly sizes: number[] = [];
  private requests = new Uint32Array(1024);
  private count = 0;
  private allOnes = true;

  add(key: string, size: number): void {
    const identity = `${size}\u0000${key}`;
    let id = this.ids.get(identity);
    if (id === undefined) {
      id = this.sizes.length;
      this.ids.set(identity, id);
      this.sizes.push(size);
      if (size !== 1) this.allOnes = false;
    }
    this.addId(id);
  }

  /** Adds a request for an object the caller numbers itself (synthetic traces). */
  addObject(id: number, size: number): void {
    while (this.sizes.length <= id) this.sizes.push(0);
    this.sizes[id] = size;
    if (size !== 1) this.allOnes = false;
    this.addId(id);
  }

  private addId(id: number): void {
    if (this.count === this.requests.length) {
      const grown = new Uint32Array(this.requests.length * 2);
      grown.set(this.requests);
      this.requests = grown;
    }
    this.requests[this.count++] = id;
  }

  build(name: string): Trace {
    return {
      name,
      requests: this.requests.slice(0, this.count),
      sizes: Float64Array.from(this.sizes),
      countOnly: this.allOnes && this.count > 0,
    };
  }
}
