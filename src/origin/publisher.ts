import { AnswerShapeError, parseDistributionStatus, parseOpSummaries, type OpSummary } from '../distribution/answers.js';
import { bearer } from '../http/bearer.js';
import { summary } from '../distribution/distributor.js';
import type { DistributionStatus, Distributor } from '../distribution/distributor.js';
import { encodeFrame, FRAMES_CONTENT_TYPE } from '../distribution/frames.js';
import type { OperationInput } from '../distribution/operations.js';
import { HttpError } from '../errors.js';
import { LinkError, request, type LinkResponse } from '../http/client.js';

/** Where the origin sends what it publishes: a distribution node in this process, or one over HTTP. */
export interface Publisher {
  /** `id`: the request's idempotency key (used by the NATS backend for dedupe; the journal ignores it). */
  publish(items: Array<{ op: OperationInput; body?: Buffer | undefined }>, opts?: { allowAll?: boolean; id?: string | undefined }): Promise<OpSummary[]>;
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
  async function call(path: string, init: { method: 'GET' | 'POST'; body?: Buffer; headers?: Record<string, string> }): Promise<unknown> {
    // The answer is a list of operation summaries or a status table: JSON, bounded like any link answer.
    let res: LinkResponse;
    try {
      res = await request(new URL(path, baseUrl), { ...init, headers: { ...bearer(token), ...init.headers }, timeoutMs: 60_000 });
    } catch (err) {
      // The caller of push/purge/status (an admin) is told which node could not be reached, and why.
      if (err instanceof LinkError) throw new HttpError(502, `distribution node unreachable: ${err.message}`);
      throw err;
    }
    if (res.status !== 200) throw new HttpError(res.status === 401 ? 502 : res.status, `distribution node answered ${res.status}: ${res.text().slice(0, 200)}`);
    return res.json();
  }
  /** A node that answers 200 with the wrong shape is a bad gateway to the admin who asked, like one that is down. */
  function read<T>(parse: (v: unknown) => T, answer: unknown): T {
    try {
      return parse(answer);
    } catch (err) {
      if (err instanceof AnswerShapeError) throw new HttpError(502, `distribution node at ${baseUrl}: ${err.message}`);
      throw err;
    }
  }
  return {
    async publish(items, opts) {
      const body = Buffer.concat(items.map((i) => encodeFrame(i.op, i.body)));
      const answer = await call(`/.dnscdn/publish${opts?.allowAll ? '?all=1' : ''}`, { method: 'POST', body, headers: { 'content-type': FRAMES_CONTENT_TYPE } });
      return read(parseOpSummaries, answer);
    },
    status: async () => read(parseDistributionStatus, await call('/.dnscdn/status', { method: 'GET' })),
  };
}
