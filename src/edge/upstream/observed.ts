/**
 * An Upstream whose every outcome is also handed to an observer (the edge's metrics). Wrapping keeps one home for
 * "what happened upstream": the pipeline, the shared fetch and the pass all go through the same wrapped instance,
 * and a pool or ring put underneath later is observed the same way. An observer must not throw: `request` never
 * rejects (upstream.ts), and the observer runs inside it.
 */
import { outcomeOf, type Upstream, type UpstreamOutcome, type UpstreamRequest, type UpstreamResult } from './upstream.js';

export function observedUpstream(inner: Upstream, observe: (o: UpstreamOutcome) => void): Upstream {
  return {
    async request(r: UpstreamRequest): Promise<UpstreamResult> {
      const result = await inner.request(r);
      observe(outcomeOf(result));
      return result;
    },
    close: () => inner.close(),
  };
}
