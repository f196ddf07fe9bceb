/**
 * The edge's side of the NATS backend: a durable pull consumer per edge (`edge-<name>`) whose messages go
 * through the edge's Follower (follower.ts: in stream order, idempotently, durable in the local replica before
 * the cache), and are acknowledged (AckPolicy.All: the last one applied) only once applied. The stream sequence is the operation's `seq`.
 *
 * Where it starts: after downtime the consumer resumes at the edge's last applied sequence + 1 (at or after its
 * ack floor; the consumer is created again there when it had delivered further). An edge whose last applied sequence is
 * older than the stream's first (or that is new while the stream has already dropped its start) first rebuilds
 * from the state stream (state.ts) as a snapshot reset, then takes the tail. A consumer that has acknowledged
 * more than this edge holds (the edge lost its disk) is recreated at the edge's own position.
 */
import type { ObjectStore } from '@nats-io/obj';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { NatsConfig } from '../../config/types.js';
import { logger } from '../../log.js';
import type { Follower } from '../follower.js';
import { verifyBody } from '../frames.js';
import type { Reset, StreamItem } from '../frames.js';
import { parseOperation } from '../operations.js';
import type { PutOperation } from '../operations.js';
import { readBody } from './bodies.js';
import { connectNats, openBodies } from './connect.js';
import type { NatsLink } from './connect.js';
import { consumerName } from './names.js';
import { readState } from './state.js';

const log = logger('replica');

/** A batch applied at once (one local fsync): at most this many operations, or this many body bytes past the first. */
const BATCH_OPS = 256;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Body reads in flight at once while a batch is prepared. */
const BODY_READS = 16;
/** A consumer with pending messages that delivers none for this long is consumed afresh (see `watch`). */
const STALL_MS = 3000;

export class NatsFeed {
  private stopped = false;
  private link: NatsLink | undefined;
  private messages: ConsumerMessages | undefined;
  private readonly loop: Promise<void>;

  constructor(
    private readonly follower: Follower,
    private readonly config: NatsConfig,
    private readonly edge: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    for (let backoff = 100; !this.stopped; backoff = Math.min(backoff * 2, 2000)) {
      try {
        this.link ??= await connectNats(this.config, `dnscdn-edge-${this.edge}`);
        await this.session(this.link);
        backoff = 100;
      } catch (err) {
        if (this.stopped) break;
        log.warn('NATS feed failed, retrying', { edge: this.edge, error: err instanceof Error ? err.message : String(err) });
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, backoff));
    }
  }

  /** Rebuild if needed, then consume until the consumer stops (a close, or a lost consumer). */
  private async session(link: NatsLink): Promise<void> {
    const { jsm, js, names } = link;
    const bodies = await openBodies(link);
    const info = await jsm.streams.info(names.stream);
    const rebuilt = this.follower.lastSeq + 1 < info.state.first_seq;
    if (rebuilt) await this.rebuild(link, bodies);
    if (this.follower.lastSeq > info.state.last_seq) {
      log.error('edge has applied operations beyond the stream: the stream lost acknowledged operations', { edge: this.edge, applied: this.follower.lastSeq, streamLast: info.state.last_seq });
    }
    const durable = consumerName(this.edge);
    const existing = await jsm.consumers.info(names.stream, durable).catch(() => undefined);
    // The consumer goes on after the last message it delivered. If that is past what this edge applied (a killed
    // edge had messages in flight, or it lost its disk), the next delivery would be a gap until the missing ones
    // come again after ack_wait (10 s: a 1,000-op catch-up took 10-22 s that way, bench:push); so it is created
    // again at the edge's own next sequence, which is at or after its ack floor.
    // After a rebuild the consumer is created again too: what it delivered before the rebuild and was never
    // acknowledged would otherwise come again after ack_wait, only to be skipped.
    const stale = existing !== undefined && (rebuilt || existing.delivered.stream_seq > this.follower.lastSeq);
    if (stale) {
      log.info(rebuilt ? 'edge rebuilt from the state: recreating its consumer after it' : 'consumer is past what this edge applied: recreating it at the edge', { edge: this.edge, delivered: existing.delivered.stream_seq, ackFloor: existing.ack_floor.stream_seq, applied: this.follower.lastSeq });
      await jsm.consumers.delete(names.stream, durable);
    }
    if (!existing || stale) {
      await jsm.consumers.add(names.stream, {
        durable_name: durable,
        ack_policy: AckPolicy.All,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: this.follower.lastSeq + 1,
        // An unacknowledged message comes again after 10 s: a lost ack costs at most that much lag.
        ack_wait: 10e9,
        max_ack_pending: 4 * BATCH_OPS,
      });
    }
    const consumer = await js.consumers.get(names.stream, durable);
    // Pull requests expire every 5 s: `status` counts an edge with an open request as reachable.
    const messages = await consumer.consume({ max_messages: BATCH_OPS, expires: 5000 });
    this.messages = messages;
    if (this.stopped) await messages.close().catch(() => undefined);
    const watch = this.watch(messages, () => consumer.info());
    let batch: JsMsg[] = [];
    let bytes = 0;
    try {
      for await (const m of messages) {
        watch.lastMessageAt = Date.now();
        batch.push(m);
        bytes += declaredLength(m); // the bodies the batch will hold in memory, not the small JSON messages
        if (m.info.pending > 0 && batch.length < BATCH_OPS && bytes < BATCH_BYTES) continue;
        await this.apply(batch, bodies);
        batch = [];
        bytes = 0;
      }
    } finally {
      watch.stop();
    }
  }

  /**
   * Ends the consume loop (the session then starts over) when the client reports the consumer gone or its
   * heartbeats missed, or when the consumer has messages pending and none arrived for STALL_MS: after a NATS
   * server dies the consumer's leader moves, and a pull sent to the old one is never answered.
   */
  private watch(messages: ConsumerMessages, info: () => Promise<{ num_pending: number }>): { lastMessageAt: number; stop(): void } {
    const state = { lastMessageAt: Date.now(), stop: () => clearInterval(timer) };
    const restart = (why: string): void => {
      log.warn('NATS consumer stalled: starting over', { edge: this.edge, why });
      // close() rejects once the connection is gone: unhandled, that rejection would end the edge process.
      messages.close().catch(() => undefined);
    };
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'consumer_deleted' || s.type === 'consumer_not_found' || s.type === 'stream_not_found') return restart(s.type);
        if (s.type === 'heartbeats_missed' && s.count >= 2) return restart(s.type);
      }
    })().catch(() => undefined);
    const timer = setInterval(() => {
      if (Date.now() - state.lastMessageAt < STALL_MS) return;
      info().then(
        (ci) => void (ci.num_pending > 0 && Date.now() - state.lastMessageAt >= STALL_MS && restart('messages pending, none delivered')),
        (err: unknown) => restart(err instanceof Error ? err.message : String(err)),
      );
    }, STALL_MS);
    timer.unref();
    return state;
  }

  /** Applies a batch through the follower; acks what it applied, asks again (nak) for what it could not. */
  private async apply(batch: JsMsg[], bodies: ObjectStore): Promise<void> {
    let applied: number;
    try {
      const items: StreamItem[] = batch.map((m) => ({ kind: 'op', op: parseOperation({ ...(m.json() as object), seq: m.seq }) }));
      // Bodies are fetched BODY_READS at a time: one after another, a 1,000-operation catch-up spent ~10 s
      // waiting on round trips (bench:push, 2 loaded cores).
      let next = 0;
      const reader = async (): Promise<void> => {
        for (let i = next++; i < items.length; i = next++) {
          const item = items[i]!;
          if (item.kind === 'op' && item.op.kind === 'put') item.body = await this.body(bodies, item.op);
        }
      };
      await Promise.all(Array.from({ length: Math.min(BODY_READS, items.length) }, reader));
      applied = await this.follower.receive(items);
    } catch (err) {
      log.warn('NATS batch not applied, redelivery asked', { edge: this.edge, first: batch[0]!.seq, error: err instanceof Error ? err.message : String(err) });
      applied = this.follower.lastSeq;
    }
    // AckPolicy.All: one confirmed ack of the last applied message acknowledges everything before it (the
    // journal's "acknowledge the last one applied"). A lost ack only means a redelivery, skipped as a repeat.
    const last = batch.filter((m) => m.seq <= applied).at(-1);
    if (last) await last.ackAck({ timeout: 2000 }).catch(() => false);
    const next = batch.find((m) => m.seq > applied);
    if (next && next.seq > applied + 1 && (await this.droppedAfter(applied))) {
      // The stream dropped operations this edge had not applied yet (it fell behind retainOps while consuming):
      // they never come again, and a nak would bring back the same gap for ever. A new session rebuilds from
      // the state stream first (session()).
      log.warn('operations this edge needs were dropped from the stream: rebuilding from the state', { edge: this.edge, applied, next: next.seq });
      // Not awaited: close() settles once the consume loop is done, and that loop is waiting for this call.
      this.messages?.close().catch(() => undefined);
      return;
    }
    for (const m of batch) if (m.seq > applied) m.nak(500); // a gap (an earlier message comes again) or a failure: again, in a moment
  }

  /** The stream no longer holds the operation after `seq`. */
  private async droppedAfter(seq: number): Promise<boolean> {
    const info = await this.link?.jsm.streams.info(this.link.names.stream).catch(() => undefined);
    return info !== undefined && info.state.first_seq > seq + 1;
  }

  /** The put's body if this edge keeps objects of its size; checked against the digest and length. */
  private async body(bodies: ObjectStore, op: PutOperation): Promise<Buffer | undefined> {
    if (this.follower.maxBodyBytes !== undefined && op.length > this.follower.maxBodyBytes) return undefined;
    const body = this.link ? await readBody(this.link, bodies, op.sha256) : undefined;
    if (body === undefined) throw new Error(`body ${op.sha256.slice(0, 12)} of ${op.path} missing from ${this.link?.names.bodies}`);
    verifyBody(op, body);
    return body;
  }

  /** The per-path state as a snapshot reset, in pages of at most BATCH_BYTES of bodies (the follower stages them). */
  private async rebuild(link: NatsLink, bodies: ObjectStore): Promise<void> {
    const snap = await readState(link);
    const ops = [...snap.live.values()];
    log.info('edge behind the stream: rebuilding from the state stream', { edge: this.edge, applied: this.follower.lastSeq, stateSeq: snap.seq, objects: ops.length });
    const time = Date.now();
    let page: Reset = { kind: 'reset', seq: snap.seq, time, from: 0, total: ops.length, entries: [] };
    let bytes = 0;
    for (const op of ops) {
      const body = await this.body(bodies, op);
      if (page.entries.length > 0 && bytes + op.length > BATCH_BYTES) {
        await this.follower.receive([page]);
        page = { ...page, from: page.from + page.entries.length, entries: [] };
        bytes = 0;
      }
      page.entries.push({ op, body });
      bytes += body?.length ?? 0;
    }
    await this.follower.receive([page]);
    if (this.follower.lastSeq < snap.seq) throw new Error(`rebuild to seq ${snap.seq} did not complete (at ${this.follower.lastSeq})`);
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    // Closing the connection first ends whatever the loop awaits (a request, a read of the state stream).
    await this.link?.nc.close();
    await this.loop;
  }
}

/** A put's declared body length (0 for a purge or a message that is not an operation: the parse rejects it later). */
function declaredLength(m: JsMsg): number {
  try {
    const length = (m.json() as { length?: unknown }).length;
    return typeof length === 'number' && Number.isSafeInteger(length) && length > 0 ? length : 0;
  } catch {
    return 0;
  }
}
