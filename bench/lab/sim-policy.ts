/**
 * The prototypes' contract: a simulator sees one request at a time (object id, size, request index) and
 * answers hit or miss, keeping the sizes it holds at or below its capacity. Object ids index the trace's
 * `sizes`, so state lives in typed arrays sized once. No timing: these are for hit ratios only.
 */
export interface SimPolicy {
  /** True on a hit; on a miss the policy decides whether to keep the object. */
  access(id: number, size: number, t: number): boolean;
  /** Summed sizes held now (checked against capacity by the harness). */
  readonly used: number;
}

export interface SimContext {
  /** Capacity in the trace's unit (bytes, or objects for count-only traces). */
  capacity: number;
  /** Largest object kept, as the edge store's default max object size (capacity / 8, at least 1). */
  maxObject: number;
  /** Number of object ids in the trace. */
  ids: number;
  /** Mean object size of the trace, to turn a capacity into an expected object count. */
  meanSize: number;
  /** Next-use index per request (only the offline references may read it). */
  next: Uint32Array;
  requests: Uint32Array;
  sizes: Float64Array;
}

export type SimFactory = (ctx: SimContext) => SimPolicy;
