/**
 * The eviction/admission policies an edge store can run (`cache.policy` in the deployment file,
 * `--cache-policy` on the command line). A leaf module with no imports, so that config validation and the
 * edge share one list without config importing the store.
 *
 * - `lru`: lru-cache bounded by bytes, every fetched object admitted (the store before issue 16).
 * - `w-tinylfu`: window LRU + size-aware TinyLFU admission into a segmented LRU (w-tinylfu.ts).
 * - `s3-fifo`: small, main and ghost FIFO queues counted in bytes (s3-fifo.ts).
 */
export const CACHE_POLICIES = ['lru', 'w-tinylfu', 's3-fifo'] as const;
export type CachePolicyName = (typeof CACHE_POLICIES)[number];

/** The policy with the best object hit ratio on the benchmark traces (README, "Hit ratio"). */
export const DEFAULT_CACHE_POLICY: CachePolicyName = 'w-tinylfu';

export function isCachePolicy(text: string): text is CachePolicyName {
  return (CACHE_POLICIES as readonly string[]).includes(text);
}

/** Parses a policy name; the error lists the valid ones. */
export function parseCachePolicy(text: string): CachePolicyName {
  if (!isCachePolicy(text)) throw new Error(`unknown cache policy "${text}" (one of ${CACHE_POLICIES.join(', ')})`);
  return text;
}
