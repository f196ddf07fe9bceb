/**
 * Synthetic CDN request traces: object popularity follows Zipf's law (the request share of the
 * object of rank r is proportional to 1 / r^alpha), object sizes follow a bounded Pareto law.
 *
 * Sizes: bounded Pareto with shape 1.2 between 1 KiB and 1 MiB (mean about 4.5 KiB, median about
 * 1.8 KiB). Web object sizes have a power-law tail with an index near 1.1 to 1.5 (Crovella and
 * Bestavros, "Self-similarity in World Wide Web traffic", 1997); the upper bound keeps every object
 * below an edge's usual max object size so that the store never refuses one for being too large.
 * Sizes are drawn independently of popularity, as in most published CDN workload models.
 */
import { seededPermutation, seededRandom, type Random } from './random.js';
import { zipfSampler } from '../src/random.js';
import { TraceBuilder, type Trace } from './trace.js';

export { zipfSampler } from '../src/random.js';

export interface ZipfOptions {
  /** Number of distinct objects in the catalogue. */
  objects: number;
  /** Number of requests to draw. */
  requests: number;
  /** Zipf exponent: about 0.6 to 1.0 for web and CDN traffic. */
  alpha: number;
  seed: number;
  /** Fixed size for every object (count-only traces); default: bounded Pareto sizes. */
  fixedSize?: number;
}

export const PARETO_SIZES = { shape: 1.2, min: 1024, max: 1024 * 1024 } as const;

/** Draws from a bounded Pareto law by inverting its CDF. */
export function boundedPareto(random: Random, shape: number, min: number, max: number): number {
  const u = random();
  const ratio = (min / max) ** shape;
  return Math.round(min / (1 - u * (1 - ratio)) ** (1 / shape));
}

export function zipfTrace(name: string, options: ZipfOptions): Trace {
  const random = seededRandom(options.seed);
  const sizes = new Float64Array(options.objects);
  for (let i = 0; i < sizes.length; i++) {
    sizes[i] = options.fixedSize ?? boundedPareto(random, PARETO_SIZES.shape, PARETO_SIZES.min, PARETO_SIZES.max);
  }
  // Object ids are a seeded permutation of ranks, so that popularity and id order are unrelated.
  const idOfRank = seededPermutation(options.objects, random);
  const rank = zipfSampler(options.objects, options.alpha, random);
  const builder = new TraceBuilder();
  for (let i = 0; i < options.requests; i++) {
    const id = idOfRank[rank()]!;
    builder.addObject(id, sizes[id]!);
  }
  return builder.build(name);
}
