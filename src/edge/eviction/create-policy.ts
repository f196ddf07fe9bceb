/** One place that turns a policy name into a policy instance. */
import type { EvictionPolicy, PolicyOptions, Sized } from './eviction-policy.js';
import { LruPolicy } from './lru.js';
import type { CachePolicyName } from './names.js';
import { S3FifoPolicy } from './s3-fifo.js';
import { WTinyLfuPolicy } from './w-tinylfu.js';

export function createEvictionPolicy<E extends Sized & object>(name: CachePolicyName, options: PolicyOptions<E>): EvictionPolicy<E> {
  switch (name) {
    case 'lru':
      return new LruPolicy(options);
    case 'w-tinylfu':
      return new WTinyLfuPolicy(options);
    case 's3-fifo':
      return new S3FifoPolicy(options);
  }
}
