/**
 * A synthetic CDN-like trace with size–popularity correlation: many small objects (pages, images, scripts)
 * and a long tail of large ones (video segments, downloads) that are, on the whole, less popular. Real CDN
 * traces mix both, and the mix is what separates a policy tuned for object hit ratio from one that keeps
 * byte hit ratio (Berger et al., AdaptSize, NSDI 2017, §2: the largest objects are rarely the most requested).
 *
 * Generator (seed 20261127, 200,000 objects, 1,000,000 requests):
 * - popularity: Zipf with alpha 0.8 over the catalogue (zipf.ts), ids a seeded permutation of ranks;
 * - the object of popularity rank r (0 = most popular) is large with probability 1 % + 8 % x r / n:
 *   1 % among the most popular, 9 % in the tail, 5 % overall;
 * - small sizes: bounded Pareto, shape 1.2, 512 B to 256 KiB (heavy-tailed web objects, as in zipf.ts);
 * - large sizes: log-uniform between 1 MiB and 64 MiB.
 */
import { seededPermutation, seededRandom } from './random.js';
import { TraceBuilder, type Trace } from './trace.js';
import { boundedPareto, zipfSampler } from './zipf.js';

export const CDN_MIX = {
  seed: 20261127,
  objects: 200_000,
  requests: 1_000_000,
  alpha: 0.8,
  largeShareHead: 0.01,
  largeShareTail: 0.09,
  small: { shape: 1.2, min: 512, max: 256 * 1024 },
  large: { min: 1024 * 1024, max: 64 * 1024 * 1024 },
} as const;

export function cdnMixTrace(name = 'cdn-mix', options: { objects?: number; requests?: number } = {}): Trace {
  const objects = options.objects ?? CDN_MIX.objects;
  const requests = options.requests ?? CDN_MIX.requests;
  const random = seededRandom(CDN_MIX.seed);
  const sizeOfRank = new Float64Array(objects);
  for (let r = 0; r < objects; r++) {
    const largeShare = CDN_MIX.largeShareHead + ((CDN_MIX.largeShareTail - CDN_MIX.largeShareHead) * r) / objects;
    if (random() < largeShare) {
      const { min, max } = CDN_MIX.large;
      sizeOfRank[r] = Math.round(min * (max / min) ** random());
    } else {
      const { shape, min, max } = CDN_MIX.small;
      sizeOfRank[r] = boundedPareto(random, shape, min, max);
    }
  }
  const idOfRank = seededPermutation(objects, random);
  const rank = zipfSampler(objects, CDN_MIX.alpha, random);
  const builder = new TraceBuilder();
  for (let i = 0; i < requests; i++) {
    const r = rank();
    builder.addObject(idOfRank[r]!, sizeOfRank[r]!);
  }
  return builder.build(name);
}
