import { bearer } from '../distribution/auth.js';
import { summary } from '../distribution/distributor.js';
import type { DistributionStatus, Distributor } from '../distribution/distributor.js';
import { encodeFrame, FRAMES_CONTENT_TYPE } from '../distribution/frames.js';
import type { OperationInput } from '../distribution/operations.js';
import { HttpError } from '../errors.js';

/** Where the origin sends what it publishes: a distribution node in this process, or one over HTTP. */
export interface Publisher {
  publish(items: Array<{ op: OperationInput; body?: Buffer | undefined }>, opts?: { allowAll?: boolean }): Promise<Array<{ seq: number; kind: string; what: string }>>;
  status(): Promise<DistributionStatus>;
}

export function localPublisher(d: Distributor): Publisher {
  return {
    publish: async (items, opts) => (await d.publish(items, opts)).map(summary),
    status: () => d.status(),
  };
}

/** Publishes to a distribution node running as its own process (`dnscdn distributor`). */
export function remotePublisher(baseUrl: string, token: string): Publisher {
  async function call(path: string, init: RequestInit): Promise<unknown> {
    const res = await fetch(new URL(path, baseUrl), { ...init, headers: { ...bearer(token), ...(init.headers as Record<string, string>) }, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    if (res.status !== 200) throw new HttpError(res.status === 401 ? 502 : res.status, `distribution node answered ${res.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as unknown;
  }
  return {
    async publish(items, opts) {
      const body = Buffer.concat(items.map((i) => encodeFrame(i.op, i.body)));
      const answer = (await call(`/.dnscdn/publish${opts?.allowAll ? '?all=1' : ''}`, { method: 'POST', body, headers: { 'content-type': FRAMES_CONTENT_TYPE } })) as {
        ops: Array<{ seq: number; kind: string; what: string }>;
      };
      return answer.ops;
    },
    status: async () => (await call('/.dnscdn/status', { method: 'GET' })) as DistributionStatus,
  };
}
