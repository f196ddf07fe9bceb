/**
 * The origin's side of the NATS backend: a Publisher (src/origin/publisher.ts) that stores each body in the
 * Object Store (by digest, once), publishes each operation to the operations stream with a stable
 * `Nats-Msg-Id`, and then writes the per-path state. The acknowledgement a caller gets is JetStream's PubAck:
 * with 3 replicas a Raft majority has the operation (README, "Push over NATS JetStream").
 *
 * There must be one publisher (one origin) per stream: the state stream is written in operation order by it.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '@nats-io/obj';
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
import { connectNats, ensureStreams } from './connect.js';
import type { NatsLink } from './connect.js';
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

export class NatsPublisher {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly link: NatsLink,
    private readonly bodies: ObjectStore,
    private readonly state: LiveState,
    private readonly edges: string[],
  ) {}

  /** Connects, creates the streams and bucket if needed, loads the state and brings it up to the stream's tail. */
  static async open(config: NatsConfig, edges: string[]): Promise<NatsPublisher> {
    const link = await connectNats(config, 'dnscdn-origin');
    try {
      const bodies = await ensureStreams(link);
      const snapshot = await readState(link);
      const p = new NatsPublisher(link, bodies, new LiveState(link, snapshot.live, snapshot.seq), edges);
      await p.repairState();
      log.info('NATS publisher ready', { stream: config.stream, lastSeq: p.state.seq, objects: p.state.live.size });
      return p;
    } catch (err) {
      await link.nc.close();
      throw err;
    }
  }

  /** Operations published by an earlier origin that stopped before writing their state (killed between the two). */
  private async repairState(): Promise<void> {
    const info = await this.link.jsm.streams.info(this.link.names.stream);
    const last = info.state.last_seq;
    if (last <= this.state.seq) return;
    const from = Math.max(this.state.seq + 1, info.state.first_seq);
    const consumer = await this.link.js.consumers.get(this.link.names.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({ max_messages: 256 });
    let repaired = 0;
    try {
      for await (const m of messages) {
        await this.state.apply(parseOperation({ ...(m.json() as object), seq: m.seq }));
        repaired++;
        if (m.seq >= last) break;
      }
    } finally {
      await messages.close();
    }
    log.info('state stream brought up to the operations stream', { from, to: last, operations: repaired });
  }

  publish(items: Array<{ op: OperationInput; body?: Buffer | undefined }>, opts: PublishOptions = {}): Promise<OpSummary[]> {
    for (const { op } of items) {
      if (op.kind === 'purge' && matchesEverything(op.target) && !opts.allowAll) {
        return Promise.reject(new HttpError(400, `purge ${describeTarget(op.target)} matches everything: needs the all flag`));
      }
    }
    const key = opts.id ?? randomUUID();
    const run = this.chain.then(async () => {
      const ops: Operation[] = [];
      for (const [i, { op: input, body }] of items.entries()) {
        if (input.kind === 'put' && body) await this.storeBody(input.sha256, body);
        const time = Date.now();
        const ack = await this.publishOne(opSubject(this.link.names, input), JSON.stringify({ ...input, time }), `${key}:${i}`);
        const op: Operation = { ...input, seq: ack.seq, time };
        await this.retrying(`state of seq ${op.seq}`, () => this.state.apply(op));
        ops.push(op);
        log.info(op.kind === 'put' ? 'put published' : 'purge published', { seq: op.seq, duplicate: ack.duplicate, what: op.kind === 'put' ? op.path : describeTarget(op.target) });
      }
      return ops.map(summary);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** An unchanged body (same digest) is stored once: the Object Store already holds it under its digest. */
  private async storeBody(sha256: string, body: Buffer): Promise<void> {
    await this.retrying(`store body ${sha256.slice(0, 12)}`, async () => {
      const info = await this.bodies.info(sha256);
      if (info && !info.deleted && info.size === body.length) return;
      await this.bodies.putBlob({ name: sha256 }, body);
    });
  }

  private publishOne(subject: string, data: string, msgID: string): Promise<PubAck> {
    return this.retrying(`publish ${subject}`, () => this.link.js.publish(subject, data, { msgID, timeout: 5000 }));
  }

  /** Retries through a leader election or a reconnect; then 503, naming the cause. */
  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + PUBLISH_RETRY_MS;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await attempt();
      } catch (err) {
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
    return { journal: { lastSeq: last, snapshotSeq: Math.max(0, info.state.first_seq - 1), objects: this.state.live.size }, edges };
  }

  get lastSeq(): number {
    return this.state.seq;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.link.nc.close();
  }
}
