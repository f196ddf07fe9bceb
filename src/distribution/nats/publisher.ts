/**
 * The origin's side of the NATS backend: a Publisher (src/origin/publisher.ts) that stores each body in the
 * Object Store (by digest, once), publishes each operation to the operations stream with a stable
 * `Nats-Msg-Id`, and then writes the per-path state. The acknowledgement a caller gets is JetStream's PubAck:
 * with 3 replicas a Raft majority has the operation (README, "Push over NATS JetStream").
 *
 * There is one publisher (one origin) per stream: the state stream is written in operation order by it. An origin
 * publishes only while it holds the publisher lease (lease.ts); without it, push and purge answer 503 naming the
 * holder, and the origin takes over once the holder is gone for a lease time. Every operation is published with
 * the stream's expected last sequence, so the stream itself refuses an origin that lost the lease unawares.
 * The lease holder also collects bodies nothing refers to any more (body-gc.ts).
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '@nats-io/obj';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { PubAck } from '@nats-io/jetstream';
import type { NatsConfig } from '../../config/types.js';
import { HttpError } from '../../errors.js';
import { logger } from '../../log.js';
import type { OpSummary } from '../answers.js';
import type { DistributionStatus, PeerStatus } from '../distributor.js';
import { summary } from '../distributor.js';
import { describeTarget, matchesEverything, parseOperation } from '../operations.js';
import type { Operation, OperationInput } from '../operations.js';
import { unreferencedBodies } from './body-gc.js';
import { connectNats, ensureStreams } from './connect.js';
import type { NatsLink } from './connect.js';
import { isWrongRevision, PublisherLease } from './lease.js';
import { consumerName, opSubject } from './names.js';
import { LiveState, readState } from './state.js';

const log = logger('distribution');

export interface PublishOptions {
  allowAll?: boolean;
  /**
   * The caller's idempotency key (`Idempotency-Key`): the i-th operation of the request is published with
   * `Nats-Msg-Id` `<key>:<i>`, so a request retried after a lost answer is not applied twice. Absent: a new
   * key per request (retries inside this process still reuse it).
   */
  id?: string | undefined;
}

/** How long a publish keeps retrying while the cluster elects a new leader or the client reconnects. */
const PUBLISH_RETRY_MS = 30_000;

/** What one garbage-collection run did; `skipped` when this origin does not hold the lease. */
export interface BodyGcResult {
  skipped: boolean;
  deleted: number;
  bytes: number;
}

export class NatsPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  private state: LiveState | undefined;
  private lease!: PublisherLease;
  private gcTimer: NodeJS.Timeout | undefined;
  /** Digests published while a garbage-collection run is under way: none of them is deleted by that run. */
  private publishedDuringGc: Set<string> | undefined;
  /** The last operation this publisher appended (its state may lag behind it after a failed state write). */
  private appended = 0;
  private readonly bodiesDeleted = new Counter({ name: 'dnscdn_nats_bodies_deleted_total', help: 'Bodies deleted from the Object Store by garbage collection', registers: [] });
  private readonly bytesReclaimed = new Counter({ name: 'dnscdn_nats_body_bytes_reclaimed_total', help: 'Bytes of the bodies deleted by garbage collection', registers: [] });

  private constructor(
    private readonly link: NatsLink,
    private readonly bodies: ObjectStore,
    private readonly edges: string[],
  ) {}

  /**
   * Connects, creates the streams, bucket and lease bucket if needed, and tries the lease: the holder loads the
   * state and brings it up to the stream's tail before it publishes; otherwise this origin is a standby.
   */
  static async open(config: NatsConfig, edges: string[]): Promise<NatsPublisher> {
    const link = await connectNats(config, 'dnscdn-origin');
    try {
      const bodies = await ensureStreams(link);
      const p = new NatsPublisher(link, bodies, edges);
      p.lease = await PublisherLease.start(link, config.leaseMs, { acquired: () => p.serialised(() => p.takeOver()), lost: (why) => p.standDown(why) });
      if (!p.lease.held) log.warn('NATS publisher on standby: another origin holds the publisher lease', { stream: config.stream, why: p.lease.refusal(config.stream) });
      if (config.bodyGcIntervalMs > 0) {
        p.gcTimer = setInterval(() => void p.collectBodies().catch((err: unknown) => log.warn('body garbage collection failed', { error: err instanceof Error ? err.message : String(err) })), config.bodyGcIntervalMs);
        p.gcTimer.unref();
      }
      return p;
    } catch (err) {
      await link.nc.close();
      throw err;
    }
  }

  /** Runs `task` between two publishes (publishes run one at a time, in order). */
  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The lease is ours: load the state and catch up with operations an earlier publisher left without state. */
  private async takeOver(): Promise<void> {
    const snapshot = await readState(this.link);
    const state = new LiveState(this.link, snapshot.live, snapshot.seq);
    await this.repairState(state);
    this.appended = state.seq;
    this.state = state;
    log.info('NATS publisher ready', { stream: this.link.config.stream, lastSeq: state.seq, objects: state.live.size });
  }

  private standDown(why: string): void {
    this.state = undefined;
    log.warn('NATS publisher stopped publishing', { stream: this.link.config.stream, why });
  }

  /** True while this origin holds the lease and has caught up: push and purge are published. */
  get publishing(): boolean {
    return this.state !== undefined && this.lease.held;
  }

  /** The admin URL other origins name when they refuse a push (the holder's, in the lease). */
  setAdminUrl(url: string): void {
    this.lease.setAdmin(url);
  }

  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.bodiesDeleted);
    registry.registerMetric(this.bytesReclaimed);
    const self = this;
    new Gauge({
      name: 'dnscdn_nats_publisher_lease_held',
      help: '1 while this origin holds the publisher lease and publishes, 0 on standby',
      registers: [registry],
      collect() {
        this.set(self.publishing ? 1 : 0);
      },
    });
  }

  /** Operations published by an earlier origin that stopped before writing their state (killed between the two). */
  private async repairState(state: LiveState): Promise<void> {
    const info = await this.link.jsm.streams.info(this.link.names.stream);
    const last = info.state.last_seq;
    if (last <= state.seq) return;
    const from = Math.max(state.seq + 1, info.state.first_seq);
    const consumer = await this.link.js.consumers.get(this.link.names.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({ max_messages: 256 });
    let repaired = 0;
    try {
      for await (const m of messages) {
        await state.apply(parseOperation({ ...(m.json() as object), seq: m.seq }));
        repaired++;
        if (m.seq >= last) break;
      }
    } finally {
      await messages.close();
    }
    // Operations dropped from the stream before their state was written cannot be replayed; the marker still moves
    // to the stream's tail so the next publish's expected sequence is right.
    state.seq = Math.max(state.seq, last);
    log.info('state stream brought up to the operations stream', { from, to: last, operations: repaired });
  }

  publish(items: Array<{ op: OperationInput; body?: Buffer | undefined }>, opts: PublishOptions = {}): Promise<OpSummary[]> {
    for (const { op } of items) {
      if (op.kind === 'purge' && matchesEverything(op.target) && !opts.allowAll) {
        return Promise.reject(new HttpError(400, `purge ${describeTarget(op.target)} matches everything: needs the all flag`));
      }
    }
    const key = opts.id ?? randomUUID();
    return this.serialised(async () => {
      const ops: Operation[] = [];
      for (const [i, { op: input, body }] of items.entries()) {
        const state = this.publisherState();
        // A state write that failed earlier (503 after retries) is made up from the stream before going on.
        if (state.seq < this.appended) await this.retrying('state repair', () => this.repairState(state));
        if (input.kind === 'put') this.publishedDuringGc?.add(input.sha256);
        if (input.kind === 'put' && body) await this.storeBody(input.sha256, body);
        const time = Date.now();
        const ack = await this.publishOne(opSubject(this.link.names, input), JSON.stringify({ ...input, time }), `${key}:${i}`, state.seq);
        const op: Operation = { ...input, seq: ack.seq, time };
        this.appended = Math.max(this.appended, ack.seq);
        // The state is written only while the lease is still ours: after a takeover the new holder's repair
        // writes it from the stream, and a late write from here could overwrite a newer entry of the same path.
        await this.retrying(`state of seq ${op.seq}`, () => this.publisherState().apply(op));
        ops.push(op);
        log.info(op.kind === 'put' ? 'put published' : 'purge published', { seq: op.seq, duplicate: ack.duplicate, what: op.kind === 'put' ? op.path : describeTarget(op.target) });
      }
      return ops.map(summary);
    });
  }

  /** The state to publish from, or 503 naming the lease holder when this origin is not the publisher. */
  private publisherState(): LiveState {
    if (!this.publishing) throw new HttpError(503, this.lease.refusal(this.link.config.stream));
    return this.state!;
  }

  /** An unchanged body (same digest) is stored once: the Object Store already holds it under its digest. */
  private async storeBody(sha256: string, body: Buffer): Promise<void> {
    await this.retrying(`store body ${sha256.slice(0, 12)}`, async () => {
      const info = await this.bodies.info(sha256);
      if (info && !info.deleted && info.size === body.length) return;
      await this.bodies.putBlob({ name: sha256 }, body);
    });
  }

  /**
   * Publishes with the stream's expected last sequence (`Nats-Expected-Last-Sequence` = the last operation this
   * publisher knows of): if anyone else appended in between, JetStream refuses it and this origin stops publishing.
   * A retry of a publish that did reach the stream is answered from the duplicate window first (checked before
   * the expected sequence), with the first publish's sequence.
   */
  private publishOne(subject: string, data: string, msgID: string, lastSeq: number): Promise<PubAck> {
    return this.retrying(`publish ${subject}`, async () => {
      try {
        return await this.link.js.publish(subject, data, { msgID, timeout: 5000, expect: { lastSequence: lastSeq } });
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
        const why = `stream ${this.link.config.stream} holds operations after seq ${lastSeq} that this origin did not publish: another origin publishes to it`;
        this.lease.drop(why);
        throw new HttpError(503, `not published: ${why}`);
      }
    });
  }

  /** Retries through a leader election or a reconnect; then 503, naming the cause. */
  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + PUBLISH_RETRY_MS;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await attempt();
      } catch (err) {
        if (err instanceof HttpError) throw err;
        const message = err instanceof Error ? err.message : String(err);
        if (Date.now() + wait > deadline || this.link.nc.isClosed()) throw new HttpError(503, `not published: NATS ${this.link.config.servers.join(',')}: ${what}: ${message}`);
        log.warn('NATS publish failed, retrying', { what, error: message });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Each edge's lag from its durable consumer: acknowledged stream sequence, and operations not yet acknowledged. */
  async status(): Promise<DistributionStatus> {
    const { jsm, names } = this.link;
    const info = await jsm.streams.info(names.stream);
    const last = info.state.last_seq;
    const edges = await Promise.all(
      this.edges.map(async (name): Promise<PeerStatus> => {
        const consumer = consumerName(name);
        const url = `nats consumer ${names.stream}/${consumer}`;
        try {
          const ci = await jsm.consumers.info(names.stream, consumer);
          const lag = ci.num_pending + ci.num_ack_pending;
          // A pull consumer with an outstanding pull request has a live edge behind it.
          return { name, url, reachable: ci.num_waiting > 0, lastSeq: last - lag, lagOps: lag, lagSeconds: lag === 0 ? 0 : null, skipped: [] };
        } catch (err) {
          return { name, url, reachable: false, lastSeq: null, lagOps: null, lagSeconds: null, skipped: [], error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    return { journal: { lastSeq: last, snapshotSeq: Math.max(0, info.state.first_seq - 1), objects: this.state?.live.size ?? 0 }, edges };
  }

  /**
   * One garbage-collection run (body-gc.ts), by the lease holder only: finds old bodies nothing refers to, then
   * deletes them between two publishes, except any a publish used meanwhile. `now` is wall-clock ms (bodies'
   * `mtime` is the storing origin's wall clock; the grace period dwarfs any skew between origins).
   */
  async collectBodies(now: number = Date.now()): Promise<BodyGcResult> {
    if (!this.publishing || this.publishedDuringGc) return { skipped: true, deleted: 0, bytes: 0 };
    const used = new Set<string>();
    this.publishedDuringGc = used;
    try {
      const candidates = await unreferencedBodies(this.link, this.bodies, now - this.link.config.bodyGcGraceMs);
      return await this.serialised(async () => {
        const result: BodyGcResult = { skipped: !this.publishing, deleted: 0, bytes: 0 };
        if (result.skipped) return result;
        for (const body of candidates) {
          if (used.has(body.name)) continue;
          await this.bodies.delete(body.name);
          result.deleted++;
          result.bytes += body.size;
          this.bodiesDeleted.inc();
          this.bytesReclaimed.inc(body.size);
        }
        if (result.deleted > 0) log.info('bodies garbage-collected', { deleted: result.deleted, bytes: result.bytes });
        return result;
      });
    } finally {
      this.publishedDuringGc = undefined;
    }
  }

  get lastSeq(): number {
    return this.state?.seq ?? 0;
  }

  /** Stops publishing and gives the lease back, so a standby takes over at its next look. */
  async close(): Promise<void> {
    clearInterval(this.gcTimer);
    await this.chain.catch(() => undefined);
    await this.lease?.close().catch(() => undefined);
    await this.link.nc.close();
  }
}
