/**
 * A small learned-ranking prototype in the spirit of LRB (Song et al., NSDI'20), kept cheap: per object the
 * gaps between its last four requests, its request count and its size; a logistic model over one-hot log2
 * buckets of each feature (an additive model: 7 features x 24 buckets, 168 weights) predicts whether the
 * object is requested again within `horizon` requests (LRB's "Belady boundary", here a multiple of the cache's
 * object count). Training samples are taken online: every few requests a random resident object's features
 * (with its current age) are recorded; the label is known when it is requested again or the horizon passes.
 * Eviction: the lowest predicted probability per byte among 64 sampled residents. Request history is kept for
 * every object ever seen (unbounded here; LRB bounds it to a window of past requests).
 */
import { seededRandom } from '../random.js';
import { Residents, sampledPolicy } from './sampled.js';
import type { SimContext, SimPolicy } from './sim-policy.js';

const GAPS = 4;
const FEATURES = GAPS + 3; // gaps 1..4, age since last request, request count, size
const BUCKETS = 24;
const LEARNING_RATE = 0.05;

const bucket = (x: number): number => Math.min(BUCKETS - 1, Math.floor(Math.log2(1 + x)));

export function learnedRanking(horizonTurnovers: number): (ctx: SimContext) => SimPolicy {
  return (ctx) => learnedPolicy(ctx, horizonTurnovers, undefined);
}

/**
 * The same model, but starting from the weights it ended with after one whole pass over this very trace:
 * trained in hindsight on the test data, a generous ceiling for what these features can rank.
 */
export function learnedHindsight(horizonTurnovers: number): (ctx: SimContext) => SimPolicy {
  return (ctx) => {
    const first = learnedPolicy(ctx, horizonTurnovers, undefined);
    for (let t = 0; t < ctx.requests.length; t++) {
      const id = ctx.requests[t]!;
      first.access(id, ctx.sizes[id]!, t);
    }
    return learnedPolicy(ctx, horizonTurnovers, first.weights);
  };
}

function learnedPolicy(ctx: SimContext, horizonTurnovers: number, initial: Float64Array | undefined): SimPolicy & { weights: Float64Array } {
  const objects = Math.max(1, ctx.capacity / ctx.meanSize);
  const horizon = Math.max(16, Math.round(horizonTurnovers * objects));
  const random = seededRandom(11);
  const weights = initial ? Float64Array.from(initial) : new Float64Array(FEATURES * BUCKETS + 1);
  const times = new Float64Array(ctx.ids * GAPS).fill(-1); // last GAPS request times, newest first
  const counts = new Float64Array(ctx.ids);
  const residents = new Residents(ctx.ids);
  // One pending training sample per object: its feature buckets and when it was taken.
  const sampleAt = new Float64Array(ctx.ids).fill(-1);
  const sampleFeatures = new Uint8Array(ctx.ids * FEATURES);
  const sampleQueue: number[] = []; // object ids by sample time (labels negative when the horizon passes)
  let queueHead = 0;
  const scratch = new Uint8Array(FEATURES);

  const features = (id: number, t: number, out: Uint8Array): void => {
    const base = id * GAPS;
    const last = times[base]!;
    out[0] = bucket(last < 0 ? 1e7 : t - last);
    for (let g = 1; g < GAPS; g++) {
      const a = times[base + g - 1]!;
      const b = times[base + g]!;
      out[g] = a < 0 || b < 0 ? BUCKETS - 1 : bucket(a - b);
    }
    out[GAPS] = bucket(counts[id]!);
    out[GAPS + 1] = bucket(ctx.sizes[id]!);
    out[GAPS + 2] = bucket((t - last) / Math.max(1, counts[id]!));
  };
  const predict = (f: Uint8Array): number => {
    let z = weights[FEATURES * BUCKETS]!;
    for (let k = 0; k < FEATURES; k++) z += weights[k * BUCKETS + f[k]!]!;
    return 1 / (1 + Math.exp(-z));
  };
  const train = (id: number, label: number): void => {
    const f = sampleFeatures.subarray(id * FEATURES, id * FEATURES + FEATURES);
    const err = label - predict(f);
    for (let k = 0; k < FEATURES; k++) weights[k * BUCKETS + f[k]!]! += LEARNING_RATE * err;
    weights[FEATURES * BUCKETS]! += LEARNING_RATE * err;
    sampleAt[id] = -1;
  };
  const takeSample = (t: number): void => {
    if (residents.length === 0) return;
    const id = residents.list[Math.floor(random() * residents.length)]!;
    if (sampleAt[id]! >= 0) return;
    features(id, t, scratch);
    sampleFeatures.set(scratch, id * FEATURES);
    sampleAt[id] = t;
    sampleQueue.push(id);
  };
  const policy = sampledPolicy(
    ctx,
    {
      touch(id, t) {
        // Labels: this object's pending sample is positive if within the horizon; expired samples are negative.
        if (sampleAt[id]! >= 0) train(id, t - sampleAt[id]! <= horizon ? 1 : 0);
        while (queueHead < sampleQueue.length) {
          const q = sampleQueue[queueHead]!;
          if (sampleAt[q]! < 0) {
            queueHead++;
            continue;
          }
          if (t - sampleAt[q]! <= horizon) break;
          train(q, 0);
          queueHead++;
        }
        if (queueHead > 1 << 16) {
          sampleQueue.splice(0, queueHead);
          queueHead = 0;
        }
        if ((t & 3) === 0) takeSample(t);
        const base = id * GAPS;
        for (let g = GAPS - 1; g > 0; g--) times[base + g] = times[base + g - 1]!;
        times[base] = t;
        counts[id]!++;
      },
      score(id, t) {
        features(id, t, scratch);
        return predict(scratch) / ctx.sizes[id]!;
      },
      evicted() {},
    },
    residents,
  );
  return Object.assign(policy, { weights });
}
