import { request } from '../http/client.js';
import { logger } from '../log.js';
import { parseSkipped } from './answers.js';
import { isNat } from './json-shape.js';
import { bearer } from '../http/bearer.js';
import { FRAMES_CONTENT_TYPE } from './frames.js';
import { PeerFailureLog } from './peer-failures.js';
import { REPLICA_PATH } from './replica-endpoint.js';
import type { SnapshotPage } from './journal.js';

/** Where a distribution node sends operations: an edge (or a downstream distribution node) by base URL. */
export interface DownstreamTarget {
  name: string;
  url: string;
}

/** What a reader can take: which snapshot page it is receiving, and the largest body it stores. */
export interface BatchRequest {
  page?: SnapshotPage | undefined;
  maxBodyBytes?: number | undefined;
}

/** What a link reads from: the node's journal, encoded as a bounded batch after a sequence number. */
export interface BatchSource {
  readonly lastSeq: number;
  batchAfter(seq: number, reader?: BatchRequest): Promise<Buffer>;
}

export interface LinkOptions {
  token: string;
  /** Retry backoff after a failure: doubles from min to max (ms). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** An idle link re-checks the peer this often, so a peer that lost its state is noticed. */
  idleCheckMs?: number;
  requestTimeoutMs?: number;
}

/** The replica endpoint's answer: the last sequence it has applied (its cursor, whatever we sent). */
export interface ReplicaReport {
  lastSeq: number;
  skipped?: Array<{ path: string; length: number }>;
  /** A snapshot transfer in progress: the snapshot's sequence and how many entries it has received. */
  staged?: { seq: number; count: number } | undefined;
  /** Largest body the replica stores (an edge's max object size); absent = any. */
  maxBodyBytes?: number | undefined;
}

export function parseReplicaReport(v: unknown): ReplicaReport {
  const r = v as { lastSeq?: unknown; staged?: { seq?: unknown; count?: unknown }; maxBodyBytes?: unknown };
  if (typeof v !== 'object' || v === null || !isNat(r.lastSeq)) throw new Error('bad replica report');
  // `skipped` reaches logs and the status table: each entry must be a path and a length, not whatever the peer sent.
  const report: ReplicaReport = { lastSeq: r.lastSeq, skipped: parseSkipped(v) };
  if (typeof r.staged === 'object' && r.staged !== null && isNat(r.staged.seq) && isNat(r.staged.count)) report.staged = { seq: r.staged.seq, count: r.staged.count };
  if (isNat(r.maxBodyBytes)) report.maxBodyBytes = r.maxBodyBytes;
  return report;
}

/** What to ask a source for on behalf of a reader that sent this report. */
export function batchRequestFor(report: ReplicaReport | undefined): BatchRequest {
  return {
    page: report?.staged ? { snapshot: report.staged.seq, from: report.staged.count } : undefined,
    maxBodyBytes: report?.maxBodyBytes,
  };
}

/**
 * One peer's delivery loop. The per-peer queue is the journal itself: the link keeps only a cursor (the last
 * sequence the peer acknowledged) and sends the next bounded batch, in order, until the peer is current.
 * So the queue cannot grow in memory, a slow or dead peer never holds up the others, and a peer that comes back
 * gets exactly what it missed. Failures back off exponentially.
 */
export class EdgeLink {
  acked: number | undefined;
  /** Did the last exchange with the peer succeed? undefined before the first one ended. */
  reachable: boolean | undefined;
  private report: ReplicaReport | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly log = logger('distribution');
  private readonly failures: PeerFailureLog;
  private readonly loop: Promise<void>;

  constructor(
    readonly target: DownstreamTarget,
    private readonly source: BatchSource,
    private readonly options: LinkOptions,
  ) {
    // Retries back off to 2 s; warnings about the same dead peer come at most every 5 s, doubling to 5 min.
    this.failures = new PeerFailureLog(this.log, 'delivery to peer', { minMs: Math.max(options.backoffMaxMs ?? 2000, 5000), maxMs: 300_000 });
    this.loop = this.run();
  }

  /** New operations were journaled: send them now rather than at the next idle check. */
  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const min = this.options.backoffMinMs ?? 50;
    const max = this.options.backoffMaxMs ?? 2000;
    let backoff = min;
    while (!this.stopped) {
      try {
        if (this.acked === undefined || this.acked >= this.source.lastSeq) {
          if (this.acked !== undefined) await this.idle();
          if (this.stopped) break;
          this.acked = (await this.call('GET')).lastSeq;
          continue;
        }
        const before = this.report;
        const batch = await this.source.batchAfter(this.acked, batchRequestFor(before));
        this.acked = (await this.call('POST', batch)).lastSeq;
        if (before && this.report!.lastSeq === before.lastSeq && this.report!.staged?.count === before.staged?.count) {
          // The peer took nothing (a gap it will fill by its own catch-up, or a page it could not use): do not spin.
          await this.idle(backoff);
          backoff = Math.min(max, backoff * 2);
          continue;
        }
        backoff = min;
      } catch (err) {
        if (this.stopped) break;
        this.reachable = false;
        const message = err instanceof Error ? err.message : String(err);
        this.failures.failed(this.target.name, message);
        await this.idle(backoff);
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  private idle(ms = this.options.idleCheckMs ?? 5000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async call(method: 'GET' | 'POST', body?: Buffer): Promise<ReplicaReport> {
    const report = await callReplica(this.target.url, this.options.token, method, body, this.options.requestTimeoutMs ?? 10_000);
    this.report = report;
    this.reachable = true;
    this.failures.succeeded(this.target.name);
    for (const s of report.skipped ?? []) this.log.debug('peer skipped an object larger than its max object size', { peer: this.target.name, path: s.path, length: s.length });
    return report;
  }
}

/**
 * One exchange with a peer's replica endpoint: GET asks for its cursor, POST delivers a batch; either way the
 * answer is the peer's report. Fails with the method, URL and cause (LinkError, or the HTTP status it answered).
 */
export async function callReplica(baseUrl: string, token: string, method: 'GET' | 'POST', body: Buffer | undefined, timeoutMs: number): Promise<ReplicaReport> {
  const url = new URL(REPLICA_PATH, baseUrl);
  const res = await request(url, {
    method,
    headers: { ...bearer(token), ...(body ? { 'content-type': FRAMES_CONTENT_TYPE } : {}) },
    ...(body ? { body } : {}),
    timeoutMs,
  });
  if (res.status !== 200) throw new Error(`${method} ${url.href}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
  return parseReplicaReport(res.json());
}
