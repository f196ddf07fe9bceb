import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import { readRequestBody } from '../http/body.js';
import { sendJson } from '../http/reply.js';
import { BlobStore } from './blobs.js';
import { DiskWriteError } from './durable-file.js';
import type { DiskWriter } from './durable-file.js';
import { callReplica, EdgeLink } from './edge-link.js';
import type { BatchRequest, DownstreamTarget, LinkOptions } from './edge-link.js';
import { Follower } from './follower.js';
import { decodeInputs, encodeStream, FRAMES_CONTENT_TYPE } from './frames.js';
import type { StreamItem } from './frames.js';
import { Journal } from './journal.js';
import { describeTarget, matchesEverything } from './operations.js';
import type { Operation, OperationInput, PutOperation } from './operations.js';
import { handleReplicaRequest, REPLICA_PATH } from './replica-endpoint.js';
import { makeStateDirectory } from './state-dir.js';

export interface DistributorOptions {
  /** Journal and blobs live here. */
  dataDir: string;
  token: string;
  /** The edges (or downstream distribution nodes) this node feeds. */
  downstream: DownstreamTarget[];
  /** Set for a downstream distribution node: it replicates this node's journal instead of accepting publishes. */
  upstream?: string | undefined;
  compactAfter?: number;
  /** Largest accepted publish request (bytes). */
  maxPublishBytes?: number;
  /** Bounds of one batch sent to a peer or answered to a catch-up request. */
  batchOps?: number;
  batchBytes?: number;
  link?: Omit<LinkOptions, 'token'>;
  pollMs?: number;
  /** Where journal and blob writes go (tests inject a disk that fills up or writes short). */
  disk?: DiskWriter;
}

export interface PeerStatus {
  name: string;
  url: string;
  reachable: boolean;
  lastSeq: number | null;
  lagOps: number | null;
  lagSeconds: number | null;
  skipped: Array<{ path: string; length: number }>;
  /**
   * Set when the peer has applied sequence numbers beyond the journal's last one: the journal lost operations
   * that were delivered (restored from an old copy, or rebuilt without its high-water mark). Lag is then null,
   * never 0, and `error` says so; new operations would reuse numbers the peer skips as repeats.
   */
  aheadBy?: number;
  error?: string;
}

export interface DistributionStatus {
  journal: { lastSeq: number; snapshotSeq: number; objects: number; highWaterSeq?: number | undefined };
  edges: PeerStatus[];
}

/** The status line's error for a peer ahead of the journal. */
export function aheadMessage(peerSeq: number, journalSeq: number): string {
  return `peer has applied seq ${peerSeq}, beyond the journal's last seq ${journalSeq}: the journal lost acknowledged operations, and new ones would reuse numbers this peer skips as repeats; stop this node and run dnscdn journal repair --min-seq ${peerSeq}`;
}

const log = logger('distribution');

/**
 * A distribution node: owns the durable journal (or, downstream, a replica of its upstream's), stores bodies by
 * digest, feeds every downstream peer through its own EdgeLink, and answers catch-up requests.
 * Routes (all need the bearer token): POST /.dnscdn/publish, GET /.dnscdn/journal?since=N,
 * GET /.dnscdn/status, and on a downstream node POST|GET /.dnscdn/replica.
 */
export class Distributor {
  private readonly links: EdgeLink[];
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: DistributorOptions,
    readonly journal: Journal,
    readonly blobs: BlobStore,
    private readonly follower: Follower | undefined,
  ) {
    this.links = options.downstream.map((t) => new EdgeLink(t, this, { ...options.link, token: options.token }));
  }

  static async open(options: DistributorOptions): Promise<Distributor> {
    await makeStateDirectory(options.dataDir);
    if (options.upstream) {
      const follower = await Follower.open({
        dir: options.dataDir,
        upstream: options.upstream,
        token: options.token,
        sink: { put: () => undefined, purge: () => undefined, clear: () => undefined, accepts: () => true },
        pollMs: options.pollMs,
        compactAfter: options.compactAfter,
        disk: options.disk,
      });
      const d = new Distributor(options, follower.journal, follower.blobs, follower);
      follower.onApplied = () => d.kickAll();
      follower.start();
      return d;
    }
    const journal = await Journal.open(join(options.dataDir, 'journal'), { compactAfter: options.compactAfter ?? 10_000, highWater: true, ...(options.disk ? { disk: options.disk } : {}) });
    const blobs = await BlobStore.open(join(options.dataDir, 'blobs'), options.disk);
    log.info('journal opened', { lastSeq: journal.lastSeq, objects: journal.liveObjects().length });
    return new Distributor(options, journal, blobs, undefined);
  }

  get lastSeq(): number {
    return this.journal.lastSeq;
  }

  /**
   * Journals operations (bodies first, then the records, fsynced) and starts delivering them.
   * Resolves once durable: that is the acknowledgement a publisher gets.
   */
  publish(items: Array<{ op: OperationInput; body?: Buffer | undefined }>, opts: { allowAll?: boolean } = {}): Promise<Operation[]> {
    if (this.follower) return Promise.reject(new HttpError(403, 'this distribution node replicates its upstream: publish there'));
    for (const { op } of items) {
      if (op.kind === 'purge' && matchesEverything(op.target) && !opts.allowAll) {
        return Promise.reject(new HttpError(400, `purge ${describeTarget(op.target)} matches everything: needs the all flag`));
      }
    }
    const run = this.chain.then(async () => {
      this.refuseIfPeerAhead();
      const bodies: Array<{ sha256: string; body: Buffer }> = [];
      for (const { op, body } of items) if (op.kind === 'put' && body) bodies.push({ sha256: op.sha256, body });
      let ops: Operation[];
      try {
        await this.blobs.putAll(bodies);
        ops = await this.journal.append(items.map((i) => i.op));
      } catch (err) {
        if (!(err instanceof DiskWriteError)) throw err;
        log.error('publish not journaled: not acknowledged', { file: err.file, code: err.code, error: err.message });
        throw new HttpError(err.httpStatus, `not journaled, nothing published: ${err.message}`);
      }
      if (this.journal.needsCompaction) await this.compactQuietly();
      for (const op of ops) log.info(op.kind === 'put' ? 'put journaled' : 'purge journaled', { seq: op.seq, what: op.kind === 'put' ? op.path : describeTarget(op.target) });
      return ops;
    });
    this.chain = run.catch(() => undefined);
    void run.then(() => this.kickAll(), () => undefined);
    return run;
  }

  /**
   * The next bounded batch after `seq`, bodies included (a link's queue is this read): at most `batchOps`
   * operations and, past the first, `batchBytes` of bodies, or less if the reader stores smaller objects
   * (`maxBodyBytes`, whose larger bodies are left out). A reader older than the snapshot gets the page of it
   * that `page` asks for, bounded the same way.
   */
  async batchAfter(seq: number, reader: BatchRequest = {}): Promise<Buffer> {
    const maxBody = reader.maxBodyBytes ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.min(this.options.batchBytes ?? 8 * 1024 * 1024, maxBody);
    const { reset, ops } = this.journal.since(seq, this.options.batchOps ?? 256, reader.page);
    let bytes = 0;
    /** The body to send with a put, or undefined to leave it out; false once the batch is full. */
    const take = async (op: PutOperation): Promise<Buffer | undefined | false> => {
      if (op.length > maxBody) return undefined;
      if (bytes > 0 && bytes + op.length > limit) return false;
      bytes += op.length;
      return this.body(op.sha256);
    };
    if (reset) {
      const entries: Array<{ op: PutOperation; body?: Buffer | undefined }> = [];
      for (const op of reset.entries) {
        const body = await take(op);
        if (body === false) break;
        entries.push({ op, body });
      }
      return encodeStream([{ kind: 'reset', seq: reset.seq, time: reset.time, from: reset.from, total: reset.total, entries }]);
    }
    const items: StreamItem[] = [];
    for (const op of ops) {
      if (op.kind === 'purge') {
        items.push({ kind: 'op', op });
        continue;
      }
      const body = await take(op);
      if (body === false) break;
      items.push({ kind: 'op', op, body });
    }
    return encodeStream(items);
  }

  /**
   * A peer that has applied sequence numbers beyond the journal's (the journal lost acknowledged operations)
   * would skip new operations as repeats: publishing is refused, naming the way out, rather than acknowledging
   * what no such peer will apply. Known from each link's last contact, so a publish in the first moments after
   * a start, before the links have reached their peers, is not covered; `status` still shows the peer ahead.
   */
  private refuseIfPeerAhead(): void {
    const last = this.journal.lastSeq;
    const ahead = this.links.find((l) => l.acked !== undefined && l.acked > last);
    if (ahead) throw new HttpError(503, `not journaled, nothing published: ${ahead.target.name}: ${aheadMessage(ahead.acked!, last)}`);
  }

  /** Compaction runs after an acknowledged append: its failure (a full disk) is logged and retried next time, never the append's. */
  private async compactQuietly(): Promise<void> {
    try {
      await this.journal.compact();
      const removed = await this.blobs.retainOnly(new Set(this.journal.liveObjects().map((o) => o.sha256)));
      log.info('journal compacted', { snapshotSeq: this.journal.snapshotSeq, blobsRemoved: removed });
    } catch (err) {
      log.warn('journal compaction failed; the journal keeps growing until it succeeds', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * Gauges read at scrape time: the journal's last sequence, and per peer how far it is beyond the journal
   * (0 when not; above 0 is the lost-operations condition `status` reports). From each link's last contact.
   */
  registerMetrics(registry: Registry): void {
    const journal = this.journal;
    const links = this.links;
    new Gauge({ name: 'dnscdn_distribution_journal_last_seq', help: 'Last sequence number in the journal', registers: [registry], collect() { this.set(journal.lastSeq); } });
    new Gauge({
      name: 'dnscdn_distribution_peer_ahead_ops',
      help: 'Operations a peer has applied beyond the journal\'s last sequence (above 0: the journal lost acknowledged operations)',
      labelNames: ['peer'],
      registers: [registry],
      collect() {
        for (const l of links) this.set({ peer: l.target.name }, l.acked === undefined ? 0 : Math.max(0, l.acked - journal.lastSeq));
      },
    });
    // The same lag as `status` reports, from the links' last view (no request per scrape). An edge not heard from
    // since this node started has no lag sample (unknown, not 0); `dnscdn_distribution_edge_reachable` covers it.
    new Gauge({
      name: 'dnscdn_distribution_lag_ops',
      help: 'Operations journaled that the edge has not acknowledged',
      labelNames: ['edge'],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of links) if (l.acked !== undefined) this.set({ edge: l.target.name }, Math.max(0, journal.lastSeq - l.acked));
      },
    });
    new Gauge({
      name: 'dnscdn_distribution_lag_seconds',
      help: 'Age of the oldest operation the edge has not acknowledged (0 when it is current)',
      labelNames: ['edge'],
      registers: [registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const l of links) {
          if (l.acked === undefined) continue;
          const firstMissed = l.acked < journal.lastSeq ? journal.timeOf(l.acked + 1) : now;
          if (firstMissed !== undefined) this.set({ edge: l.target.name }, Math.max(0, (now - firstMissed) / 1000));
        }
      },
    });
    new Gauge({
      name: 'dnscdn_distribution_edge_reachable',
      help: 'Whether the last delivery exchange with the edge succeeded (1) or failed (0)',
      labelNames: ['edge'],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of links) if (l.reachable !== undefined) this.set({ edge: l.target.name }, l.reachable ? 1 : 0);
      },
    });
  }

  private async body(sha256: string): Promise<Buffer> {
    const body = await this.blobs.get(sha256);
    if (body === undefined) throw new Error(`blob ${sha256.slice(0, 12)} missing (compacted away?)`);
    return body;
  }

  kickAll(): void {
    for (const l of this.links) l.kick();
  }

  /** Asks every peer for its cursor now (not the link's last view), with a short timeout. */
  async status(): Promise<DistributionStatus> {
    const last = this.journal.lastSeq;
    const now = Date.now();
    const edges = await Promise.all(
      this.options.downstream.map(async (t): Promise<PeerStatus> => {
        try {
          const report = await callReplica(t.url, this.options.token, 'GET', undefined, 2000);
          if (report.lastSeq > last) {
            const message = aheadMessage(report.lastSeq, last);
            log.error('peer ahead of the journal', { peer: t.name, peerSeq: report.lastSeq, journalSeq: last });
            return { name: t.name, url: t.url, reachable: true, lastSeq: report.lastSeq, lagOps: null, lagSeconds: null, skipped: report.skipped ?? [], aheadBy: report.lastSeq - last, error: message };
          }
          const behind = last - report.lastSeq;
          const firstMissed = behind > 0 ? this.journal.timeOf(report.lastSeq + 1) : undefined;
          return {
            name: t.name,
            url: t.url,
            reachable: true,
            lastSeq: report.lastSeq,
            lagOps: Math.max(0, behind),
            lagSeconds: behind > 0 ? (firstMissed === undefined ? null : Math.max(0, (now - firstMissed) / 1000)) : 0,
            skipped: report.skipped ?? [],
          };
        } catch (err) {
          return { name: t.name, url: t.url, reachable: false, lastSeq: null, lagOps: null, lagSeconds: null, skipped: [], error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    return { journal: { lastSeq: last, snapshotSeq: this.journal.snapshotSeq, objects: this.journal.liveObjects().length, highWaterSeq: this.journal.highWaterSeq }, edges };
  }

  /** Serves this node's routes on an admin listener (which checked the token); false for paths not its own. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://distribution.invalid');
    const route = url.pathname;
    if (route === REPLICA_PATH && this.follower) {
      // A batch from upstream is bounded by its batch size or one object, and no object exceeds a publish.
      await handleReplicaRequest(this.follower, req, res, (this.options.maxPublishBytes ?? 256 * 1024 * 1024) + 1024 * 1024);
      return true;
    }
    if (route !== '/.dnscdn/publish' && route !== '/.dnscdn/journal' && route !== '/.dnscdn/status') return false;
    if (route === '/.dnscdn/publish') {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      const items = decodeInputs(await readRequestBody(req, this.options.maxPublishBytes ?? 256 * 1024 * 1024));
      const ops = await this.publish(items, { allowAll: url.searchParams.get('all') === '1' });
      sendJson(res, 200, { lastSeq: this.journal.lastSeq, ops: ops.map(summary) });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
    if (route === '/.dnscdn/status') {
      sendJson(res, 200, await this.status());
      return true;
    }
    const since = naturalParam(url, 'since') ?? 0;
    const reader: BatchRequest = {};
    const snapshot = naturalParam(url, 'snapshot');
    if (snapshot !== undefined) reader.page = { snapshot, from: naturalParam(url, 'from') ?? 0 };
    const maxBody = naturalParam(url, 'maxBody');
    if (maxBody !== undefined) reader.maxBodyBytes = maxBody;
    const body = await this.batchAfter(since, reader);
    res.writeHead(200, { 'content-type': FRAMES_CONTENT_TYPE, 'content-length': body.length, 'x-dnscdn-last-seq': String(this.journal.lastSeq), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.stop()));
    await this.chain.catch(() => undefined);
    if (this.follower) await this.follower.close();
    else await this.journal.close();
  }
}

function naturalParam(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new HttpError(400, `${name} must be a non-negative integer`);
  return n;
}

export function summary(op: Operation): { seq: number; kind: string; what: string } {
  return { seq: op.seq, kind: op.kind, what: op.kind === 'put' ? op.path : describeTarget(op.target) };
}
