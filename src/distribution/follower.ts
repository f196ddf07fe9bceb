import { join } from 'node:path';
import { request, type LinkResponse } from '../http/client.js';
import { logger } from '../log.js';
import type { Logger } from '../log.js';
import { bearer } from '../http/bearer.js';
import { BlobStore } from './blobs.js';
import type { DiskWriter } from './durable-file.js';
import { decodeStream } from './frames.js';
import type { Reset, StreamItem } from './frames.js';
import { Journal } from './journal.js';
import { PeerFailureLog } from './peer-failures.js';
import type { Operation, PutOperation } from './operations.js';
import { makeStateDirectory } from './state-dir.js';

/** What a follower does with operations once they are durable locally: an edge applies them to its store. */
export interface FollowerSink {
  put(op: PutOperation, body: Buffer): void;
  purge(op: Extract<Operation, { kind: 'purge' }>): void;
  /** Forget every replicated object (a reset is followed by the full live state as puts). */
  clear(): void;
  /** Whether this sink keeps a body of this size at all (an edge skips objects above its max object size). */
  accepts(op: PutOperation): boolean;
  /** The largest body it keeps, announced to senders so they leave larger ones out; absent = any. */
  maxBodyBytes?: number;
  /**
   * Resolves once everything put, purged or cleared so far is in effect. A sink that applies elsewhere (an edge's
   * primary relaying to its workers) makes the follower wait for it before it reports a sequence as applied, so an
   * acknowledged push is served by every worker. Absent: the calls above take effect when they return.
   */
  settled?(): Promise<void>;
}

export interface FollowerOptions {
  /** Local directory for the replicated journal and its blobs. */
  dir: string;
  /** Base URL of the distribution node to catch up from (`GET /.dnscdn/journal?since=`). */
  upstream?: string | undefined;
  token: string;
  sink: FollowerSink;
  /** Periodic catch-up, in case a pushed batch was missed (ms). */
  pollMs?: number;
  compactAfter?: number;
  log?: Logger;
  /** Where replica journal and blob writes go (tests inject a disk that fills up or writes short). */
  disk?: DiskWriter | undefined;
  /** Clock for the rate limit of catch-up warnings (tests). */
  now?: () => number;
}

/**
 * The largest catch-up answer read: a batch holds 8 MiB of bodies past its first object, and one object can be
 * as large as the largest publish (256 MiB); 1 MiB more covers the framing.
 */
const CATCH_UP_MAX_BYTES = (256 + 8 + 1) * 1024 * 1024;

/**
 * The receiving side of distribution, shared by edges and downstream distribution nodes: operations arrive
 * pushed (a batch POSTed by the node above) or pulled (catch-up from the last applied sequence, at start and
 * periodically). Either way they go through `receive`, which is serialized, applies strictly in sequence order,
 * skips what it already has (idempotent), stops at a gap (the sender resends from our cursor), and makes them
 * durable in a local journal before applying, so the remembered sequence always matches what was applied.
 */
export class Follower {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private catchingUp: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly failures: PeerFailureLog;
  /** Recent objects this sink refused for size, reported to the sender and in status (bounded). */
  readonly skipped: Array<{ path: string; length: number }> = [];
  onApplied: ((ops: Operation[]) => void) | undefined;
  /**
   * A snapshot arriving page by page (bodies go to the blob store as they come, the operations are held here):
   * nothing is applied until the last page, so a replica that stops mid-transfer still has its old, consistent
   * state and cursor, and starts the transfer over.
   */
  private staging: { seq: number; time: number; total: number; ops: PutOperation[] } | undefined;
  /** The sequence before a snapshot reset that is still refilling the sink (see `lastSeq`). */
  private resetFrom: number | undefined;

  private constructor(
    private readonly options: FollowerOptions,
    readonly journal: Journal,
    readonly blobs: BlobStore,
  ) {
    this.log = options.log ?? logger('replica');
    // Catch-up retries every pollMs; a dead upstream is reported at once, then at most every 5 s doubling to 5 min.
    const pollMs = options.pollMs ?? 5000;
    this.failures = new PeerFailureLog(this.log, 'catch-up', { minMs: Math.max(pollMs, 5000), maxMs: 300_000, ...(options.now ? { now: options.now } : {}) });
  }

  /** Opens the local journal and replays its live state into the sink (what the node had before it stopped). */
  static async open(options: FollowerOptions): Promise<Follower> {
    await makeStateDirectory(options.dir);
    const journal = await Journal.open(join(options.dir, 'replica.journal'), {
      compactAfter: options.compactAfter ?? 10_000,
      ...(options.log ? { log: options.log } : {}),
      ...(options.disk ? { disk: options.disk } : {}),
    });
    const blobs = await BlobStore.open(join(options.dir, 'blobs'), options.disk);
    const f = new Follower(options, journal, blobs);
    const restored = await f.putLiveState(options.sink);
    f.log.info('replica restored', { lastSeq: journal.lastSeq, objects: restored });
    return f;
  }

  /**
   * Puts the live state into another sink (an edge worker started again), in turn with the batches being applied,
   * so a purge applied meanwhile cannot be undone by an older put of the replay.
   */
  replay(sink: FollowerSink): Promise<void> {
    const run = this.chain.then(async () => void (await this.putLiveState(sink)));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async putLiveState(sink: FollowerSink): Promise<number> {
    let restored = 0;
    for (const op of this.journal.liveObjects()) {
      if (!sink.accepts(op)) continue;
      const body = await this.blobs.get(op.sha256);
      if (body === undefined) {
        this.log.warn('replicated body missing or damaged, object dropped', { path: op.path });
        continue;
      }
      sink.put(op, body);
      restored++;
    }
    await sink.settled?.();
    return restored;
  }

  /**
   * The applied sequence: the journal's, except while a snapshot reset refills the sink (the journal already has
   * the snapshot's sequence, the sink does not yet hold its objects): until then the sequence before the reset,
   * so nothing (`status`, the sender's cursor, a test waiting for convergence) sees a current edge that is empty.
   */
  get lastSeq(): number {
    return this.resetFrom ?? this.journal.lastSeq;
  }

  /** The snapshot transfer in progress, for the sender's next page. */
  get staged(): { seq: number; count: number } | undefined {
    return this.staging ? { seq: this.staging.seq, count: this.staging.ops.length } : undefined;
  }

  get maxBodyBytes(): number | undefined {
    return this.options.sink.maxBodyBytes;
  }

  /** Catch up now, then every `pollMs`. */
  start(): void {
    if (!this.options.upstream) return;
    void this.catchUp().catch(() => undefined);
    const pollMs = this.options.pollMs ?? 5000;
    this.timer = setInterval(() => void this.catchUp().catch(() => undefined), pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.catchingUp?.catch(() => undefined);
    await this.chain.catch(() => undefined);
    await this.journal.close();
  }

  /** Applies a decoded batch; resolves with the last applied sequence (the sender's new cursor). */
  receive(items: StreamItem[]): Promise<number> {
    const run = this.chain.then(() => this.applyInOrder(items));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Asks upstream for everything after our last sequence until there is nothing more. One at a time. */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.pullUntilCurrent().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  private async pullUntilCurrent(): Promise<void> {
    const upstream = this.options.upstream;
    if (!upstream) return;
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const before = this.lastSeq;
      const stagedBefore = this.staged;
      const url = new URL('/.dnscdn/journal', upstream);
      url.searchParams.set('since', String(before));
      if (stagedBefore) {
        url.searchParams.set('snapshot', String(stagedBefore.seq));
        url.searchParams.set('from', String(stagedBefore.count));
      }
      if (this.maxBodyBytes !== undefined) url.searchParams.set('maxBody', String(this.maxBodyBytes));
      let res: LinkResponse;
      try {
        res = await request(url, { headers: bearer(this.options.token), timeoutMs: 30_000, maxBodyBytes: CATCH_UP_MAX_BYTES });
      } catch (err) {
        this.failures.failed(upstream, err instanceof Error ? err.message : String(err));
        return;
      }
      if (res.status !== 200) {
        this.failures.failed(upstream, `GET ${url.href}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
        return;
      }
      this.failures.succeeded(upstream);
      const upstreamLast = Number(res.headers['x-dnscdn-last-seq'] ?? '0');
      const items = decodeStream(res.body);
      const after = await this.receive(items);
      const staging = this.staged !== undefined && this.staged.count !== stagedBefore?.count;
      if (!staging && (after >= upstreamLast || after === before)) return;
    }
  }

  private async applyInOrder(items: StreamItem[]): Promise<number> {
    const batch: Array<{ op: Operation; body?: Buffer | undefined }> = [];
    let expected = this.lastSeq + 1;
    for (const item of items) {
      if (item.kind === 'reset') {
        if (item.seq < expected) continue;
        await this.flush(batch);
        batch.length = 0;
        if (!(await this.stage(item))) break; // an incomplete snapshot: nothing after it may apply yet
        expected = item.seq + 1;
        continue;
      }
      if (item.op.seq < expected) continue; // already applied: idempotent
      if (item.op.seq > expected) break; // a gap: never apply out of order; the sender resends from our cursor
      batch.push(item);
      expected++;
    }
    await this.flush(batch);
    return this.lastSeq;
  }

  private async flush(batch: Array<{ op: Operation; body?: Buffer | undefined }>): Promise<void> {
    if (batch.length === 0) return;
    const bodies: Array<{ sha256: string; body: Buffer }> = [];
    for (const { op, body } of batch) if (op.kind === 'put' && body && this.options.sink.accepts(op)) bodies.push({ sha256: op.sha256, body });
    await this.blobs.putAll(bodies);
    const ops = await this.journal.appendReplicated(batch.map((b) => b.op));
    const fresh = new Set(ops.map((o) => o.seq));
    for (const { op, body } of batch) {
      if (!fresh.has(op.seq)) continue;
      if (op.kind === 'purge') this.options.sink.purge(op);
      else if (body && this.options.sink.accepts(op)) this.options.sink.put(op, body);
      else this.noteSkipped(op);
    }
    await this.options.sink.settled?.();
    if (this.journal.needsCompaction) await this.compact();
    this.onApplied?.(ops);
  }

  /** Takes one snapshot page; true once the snapshot is complete and applied. Pages out of order are dropped. */
  private async stage(page: Reset): Promise<boolean> {
    if (page.from === 0) this.staging = { seq: page.seq, time: page.time, total: page.total, ops: [] };
    const s = this.staging;
    if (!s || s.seq !== page.seq || s.total !== page.total || s.ops.length !== page.from) return false;
    const bodies: Array<{ sha256: string; body: Buffer }> = [];
    for (const e of page.entries) if (e.body && this.options.sink.accepts(e.op)) bodies.push({ sha256: e.op.sha256, body: e.body });
    await this.blobs.putAll(bodies);
    for (const e of page.entries) s.ops.push(e.op);
    if (s.ops.length < s.total) return false;
    this.staging = undefined;
    await this.reset(s.seq, s.time, s.ops);
    return true;
  }

  private async reset(seq: number, time: number, ops: PutOperation[]): Promise<void> {
    this.log.info('replica reset to a snapshot', { seq, objects: ops.length });
    this.resetFrom = this.journal.lastSeq;
    try {
      await this.journal.resetTo(seq, time, ops);
      this.options.sink.clear();
      for (const op of ops) {
        const body = this.options.sink.accepts(op) ? await this.blobs.get(op.sha256) : undefined;
        if (body) this.options.sink.put(op, body);
        else this.noteSkipped(op);
      }
      await this.options.sink.settled?.();
    } finally {
      this.resetFrom = undefined;
    }
    await this.blobs.retainOnly(new Set(ops.map((op) => op.sha256)));
  }

  private async compact(): Promise<void> {
    await this.journal.compact();
    await this.blobs.retainOnly(new Set(this.journal.liveObjects().map((o) => o.sha256)));
  }

  private noteSkipped(op: PutOperation): void {
    this.log.warn('object larger than the max object size: not stored here', { path: op.path, length: op.length });
    this.skipped.push({ path: op.path, length: op.length });
    if (this.skipped.length > 100) this.skipped.shift();
  }
}
