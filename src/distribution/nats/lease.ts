/**
 * One publisher per stream. The state stream is written in operation order by one publisher (state.ts), and two
 * origins appending to one stream would interleave their operations on a path. So an origin publishes only while
 * it holds the lease: one key in the KV bucket `<STREAM>_LEASE`, written with an expected revision (JetStream's
 * `Nats-Expected-Last-Subject-Sequence`), so of two origins racing for it exactly one write succeeds.
 *
 * - The holder renews the key every third of the lease time (an update at its last revision).
 * - Another origin is a standby: it watches the key's revision and takes the key over (an update at the revision
 *   it saw) once that revision has stayed unchanged for a whole lease time by its own clock. Only elapsed time on
 *   one machine is compared, never two machines' clocks (nats-server 2.9 has no per-message TTL to expire it).
 * - A holder on this machine (same boot id) whose process is gone is taken over at once: an origin killed and
 *   restarted on its host does not wait out its own lease, and a client retrying its push reaches a publisher.
 * - A holder that could not renew for a whole lease time (NATS unreachable) stops publishing at once: by then a
 *   standby may have taken over. A holder that stops cleanly deletes the key, and a standby takes over at its next
 *   look (a third of the lease time).
 *
 * The lease decides who may publish; the operations stream itself refuses a publisher that lost it
 * (publisher.ts publishes with the expected last sequence), so a paused holder that wakes after a takeover cannot
 * interleave even before it notices.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import type { KV, KvEntry } from '@nats-io/kv';
import { logger } from '../../log.js';
import type { NatsLink } from './connect.js';

const log = logger('distribution');

const KEY = 'publisher';

/** Who holds (or held) the lease, as stored in the key: enough for an operator to find the process. */
export interface LeaseHolder {
  id: string;
  host: string;
  /** This boot of the holder's machine (Linux's boot_id): a pid means something only within it. */
  boot: string;
  pid: number;
  /** The holder's admin listener, once known. */
  admin?: string;
  /** When this holder first took the lease (ISO time, for people; never compared across machines). */
  since: string;
}

function parseHolder(entry: KvEntry): LeaseHolder | undefined {
  try {
    const v = entry.json<Partial<LeaseHolder>>();
    if (typeof v.id !== 'string' || typeof v.host !== 'string' || typeof v.boot !== 'string' || typeof v.pid !== 'number' || typeof v.since !== 'string') return undefined;
    return { id: v.id, host: v.host, boot: v.boot, pid: v.pid, since: v.since, ...(typeof v.admin === 'string' ? { admin: v.admin } : {}) };
  } catch {
    return undefined;
  }
}

export function describeHolder(h: LeaseHolder | undefined): string {
  if (!h) return 'another origin';
  return `origin ${h.host} pid ${h.pid}${h.admin ? ` (admin ${h.admin})` : ''}, holding it since ${h.since}`;
}

export interface LeaseEvents {
  /** The lease is ours now; publishing may start once the caller has caught up with the stream. */
  acquired(): Promise<void>;
  /** The lease is no longer ours (taken over, or not renewed in time): stop publishing. */
  lost(why: string): void;
}

export class PublisherLease {
  private revision = 0;
  private heldSince: number | undefined;
  private renewedAt = 0;
  /** The other holder's revision, and when (our monotonic clock) we first saw it. */
  private seen: { revision: number; at: number; holder: LeaseHolder | undefined } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  /** The caller catching up after the last take (LeaseEvents.acquired). */
  private catchingUp: Promise<void> = Promise.resolve();
  private closed = false;
  readonly me: LeaseHolder;

  private constructor(
    private readonly kv: KV,
    readonly leaseMs: number,
    private readonly events: LeaseEvents,
    private readonly clock: () => number,
  ) {
    this.me = { id: randomUUID(), host: hostname(), boot: bootId(), pid: process.pid, since: '' };
  }

  /**
   * Opens the bucket and looks at the key until NATS answers (30 s at most, as for the streams), so an origin
   * starts serving knowing whether it publishes: alone, or after a holder gone from this machine, it holds the
   * lease before its admin listener opens.
   */
  static async start(link: NatsLink, leaseMs: number, events: LeaseEvents, clock: () => number = () => performance.now()): Promise<PublisherLease> {
    const kv = await new Kvm(link.js).create(link.names.lease, { history: 1, replicas: link.config.replicas });
    const lease = new PublisherLease(kv, leaseMs, events, clock);
    for (let wait = 100, deadline = Date.now() + 30_000; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await lease.look();
        break;
      } catch (err) {
        if (Date.now() + wait > deadline || link.nc.isClosed()) throw new Error(`NATS ${link.config.servers.join(',')}: publisher lease: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    lease.timer = setInterval(() => void (lease.ticking = lease.ticking.then(() => lease.tick())), Math.max(100, Math.floor(leaseMs / 3)));
    // Taken at start: the caller gets the lease back once it has caught up, ready to publish.
    await lease.catchingUp;
    return lease;
  }

  /** Held, and renewed within the lease time: no standby can have taken it over yet. */
  get held(): boolean {
    return this.heldSince !== undefined && this.clock() - this.renewedAt < this.leaseMs;
  }

  /** The other origin that holds the lease, as last seen (undefined when we hold it or nobody does). */
  get holder(): LeaseHolder | undefined {
    return this.held ? undefined : this.seen?.holder;
  }

  /** Why this origin does not publish now, for a 503. */
  refusal(stream: string): string {
    const other = this.holder;
    const takeover = `this origin takes over if that lease goes unrenewed for ${this.leaseMs / 1000} s`;
    if (other) return `not the publisher of stream ${stream}: ${describeHolder(other)}; ${takeover}`;
    if (this.heldSince !== undefined) return `not the publisher of stream ${stream}: this origin could not renew its publisher lease within ${this.leaseMs / 1000} s (it was paused, or NATS is unreachable), so another origin may hold it now`;
    return `not the publisher of stream ${stream}: no origin holds the publisher lease, this origin is taking it`;
  }

  setAdmin(url: string): void {
    this.me.admin = url;
  }

  /** Called when the stream showed that someone else published: the lease is not ours, whatever the key says. */
  drop(why: string): void {
    if (this.heldSince === undefined) return;
    this.heldSince = undefined;
    this.seen = undefined;
    this.events.lost(why);
  }

  /** Renews the lease if held, else contends for it; throws when NATS does not answer. */
  private async look(): Promise<void> {
    if (this.heldSince !== undefined) await this.renew();
    else await this.contend();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    try {
      await this.look();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (this.heldSince !== undefined && !this.held) this.drop(`lease not renewed for ${this.leaseMs} ms: ${why}`);
      else log.debug('publisher lease: NATS call failed', { error: why });
    }
  }

  private async renew(): Promise<void> {
    try {
      this.revision = await this.kv.update(KEY, JSON.stringify(this.me), this.revision);
      this.renewedAt = this.clock();
    } catch (err) {
      // A wrong revision: another origin wrote the key, so it took the lease over (we were paused or cut off).
      if (isWrongRevision(err)) return this.drop('another origin took the publisher lease over');
      throw err;
    }
  }

  private async contend(): Promise<void> {
    const entry = await this.kv.get(KEY);
    const now = this.clock();
    if (entry === null || entry.operation !== 'PUT') return this.take(() => this.kv.create(KEY, JSON.stringify(this.stamped())), now);
    if (this.seen?.revision !== entry.revision) {
      this.seen = { revision: entry.revision, at: now, holder: parseHolder(entry) };
      if (!goneFromThisMachine(this.seen.holder, this.me)) return;
    }
    const gone = goneFromThisMachine(this.seen.holder, this.me);
    if (now - this.seen.at < this.leaseMs && !gone) return;
    log.warn(gone ? 'publisher lease held by a process gone from this machine: taking it over' : 'publisher lease not renewed for a lease time: taking it over', { from: describeHolder(this.seen.holder) });
    return this.take(() => this.kv.update(KEY, JSON.stringify(this.stamped()), entry.revision), now);
  }

  private stamped(): LeaseHolder {
    this.me.since = new Date().toISOString();
    return this.me;
  }

  private async take(write: () => Promise<number>, now: number): Promise<void> {
    try {
      this.revision = await write();
    } catch (err) {
      if (isWrongRevision(err)) return; // another standby was faster: it holds the lease now
      throw err;
    }
    this.renewedAt = now;
    this.heldSince = now;
    this.seen = undefined;
    log.info('publisher lease taken', { holder: describeHolder(this.me) });
    // Catching up (reading the whole state stream) runs beside the renewals: awaited here, a state larger than a
    // lease time would let the lease lapse before the first publish.
    this.catchingUp = this.events.acquired().catch(async (err: unknown) => {
      // Not caught up with the stream: give the lease back rather than publish from a wrong state.
      log.warn('publisher lease given back: catching up failed', { error: err instanceof Error ? err.message : String(err) });
      await this.release();
    });
  }

  /** Deletes the key if we hold it, so a standby need not wait out the lease. */
  private async release(): Promise<void> {
    if (this.heldSince === undefined) return;
    this.heldSince = undefined;
    await this.kv.delete(KEY, { previousSeq: this.revision }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.ticking;
    await this.catchingUp;
    await this.release();
  }
}

/** Linux's id of this boot; elsewhere the host name (then a dead holder on this host waits out the lease). */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The holder ran on this machine in this boot and its process no longer exists (kill 0: ESRCH). */
function goneFromThisMachine(holder: LeaseHolder | undefined, me: LeaseHolder): boolean {
  if (!holder || holder.boot === '' || holder.boot !== me.boot || holder.pid === me.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** JetStream's "wrong last sequence" (10071): the key's revision was not the one expected. */
export function isWrongRevision(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 10071;
}
