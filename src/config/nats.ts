/**
 * `distribution.backend` and `distribution.nats`: read and checked here so load.ts only calls in. A single
 * JetStream replica is refused unless the file says it accepts the risk: Debian's nats-server 2.9 acknowledges a
 * publish before it reaches the disk (it syncs on an interval, `sync_interval`, 2 min by default), so a
 * lost server can lose an acknowledged purge. With 3 replicas the acknowledgement means a Raft majority has it.
 */
import { resolve } from 'node:path';
import type { ConfigNode } from './reader.js';
import type { NatsConfig } from './types.js';
import { parseDuration } from './units.js';

export const DISTRIBUTION_BACKENDS = ['journal', 'nats'] as const;

/** Enough for the edge rebuild to be rare (an edge a day behind at 1 op/s), small enough to replay quickly. */
export const DEFAULT_RETAIN_OPS = 100_000;

/**
 * The publisher lease: the holder renews it every third of this, so a standby origin takes over 1-1.3 of it after
 * the holder died. Shorter means a faster takeover and more KV writes (3 per lease time); 15 s is 0.2 writes/s.
 */
export const DEFAULT_LEASE_MS = 15_000;
/** Body garbage collection: hourly by default (a run reads every retained operation: ~1-2 s per 100,000). */
export const DEFAULT_BODY_GC_INTERVAL_MS = 3_600_000;
/**
 * A body younger than this is never collected. It has to outlast one publish from body stored to operation
 * acknowledged: the publisher retries each step for 30 s (publisher.ts) and the CLI retries the request for 30 s,
 * so anything under 2 minutes is refused; 10 minutes by default.
 */
export const DEFAULT_BODY_GC_GRACE_MS = 600_000;
export const MIN_BODY_GC_GRACE_MS = 120_000;

export function readBackend(n: ConfigNode): 'journal' | 'nats' {
  if (!n.present()) return 'journal';
  const v = n.string();
  if (v !== 'journal' && v !== 'nats') throw n.error(`must be one of ${DISTRIBUTION_BACKENDS.join(', ')}`);
  return v;
}

/** Stream names may not hold `.`, `*`, `>` or whitespace (they appear in API subjects). */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

export function readNats(n: ConfigNode, baseDir: string): NatsConfig {
  const f = n.fields(['servers', 'stream', 'replicas', 'allowUnsafeSingleReplica', 'retainOps', 'user', 'password', 'token', 'credsFile', 'tls', 'publisherLease', 'bodyGcInterval', 'bodyGcGrace']);
  const servers = f.servers.itemsOrOne().map((s) => {
    const text = s.text();
    if (!/^(nats|tls):\/\/|^[^/\s]+:\d+$/.test(text)) throw s.error('expected host:port or nats://host:port');
    return text;
  });
  if (servers.length === 0) throw f.servers.error('needs at least one server');
  const stream = f.stream.present() ? f.stream.string() : 'DNSCDN';
  if (!STREAM_NAME.test(stream)) throw f.stream.error('letters, digits, _ and - only (at most 32)');
  const replicas = f.replicas.present() ? f.replicas.integer() : 3;
  if (![1, 3, 5].includes(replicas)) throw f.replicas.error('must be 1, 3 or 5 (Raft needs an odd count)');
  const allowUnsafeSingleReplica = f.allowUnsafeSingleReplica.present() ? f.allowUnsafeSingleReplica.boolean() : false;
  if (replicas === 1 && !allowUnsafeSingleReplica) {
    throw f.replicas.error('1 replica can lose an acknowledged purge (nats-server acknowledges before it syncs to disk): use 3, or set allowUnsafeSingleReplica: true');
  }
  const leaseMs = f.publisherLease.present() ? f.publisherLease.parse(parseDuration) : DEFAULT_LEASE_MS;
  if (leaseMs < 1000) throw f.publisherLease.error('must be at least 1s (the holder renews every third of it)');
  const bodyGcIntervalMs = f.bodyGcInterval.present() ? f.bodyGcInterval.parse(parseDuration) : DEFAULT_BODY_GC_INTERVAL_MS;
  const bodyGcGraceMs = f.bodyGcGrace.present() ? f.bodyGcGrace.parse(parseDuration) : DEFAULT_BODY_GC_GRACE_MS;
  if (bodyGcGraceMs < MIN_BODY_GC_GRACE_MS) throw f.bodyGcGrace.error('must be at least 2m: a publish may take 30 s per step and the CLI retries for 30 s');
  const c: NatsConfig = {
    servers,
    stream,
    replicas,
    allowUnsafeSingleReplica,
    retainOps: f.retainOps.present() ? f.retainOps.integer({ min: 10 }) : DEFAULT_RETAIN_OPS,
    leaseMs,
    bodyGcIntervalMs,
    bodyGcGraceMs,
  };
  if (f.user.present()) c.user = f.user.string();
  if (f.password.present()) c.password = f.password.string();
  if ((c.user === undefined) !== (c.password === undefined)) throw (c.user === undefined ? f.password : f.user).error('user and password go together');
  if (f.token.present()) c.token = f.token.string();
  if (f.credsFile.present()) c.credsFile = resolve(baseDir, f.credsFile.string());
  if (f.tls.present()) {
    const t = f.tls.fields(['ca', 'cert', 'key']);
    const tls: NonNullable<NatsConfig['tls']> = {};
    if (t.ca.present()) tls.ca = resolve(baseDir, t.ca.string());
    if (t.cert.present()) tls.cert = resolve(baseDir, t.cert.string());
    if (t.key.present()) tls.key = resolve(baseDir, t.key.string());
    if ((tls.cert === undefined) !== (tls.key === undefined)) throw f.tls.error('cert and key go together');
    c.tls = tls;
  }
  return c;
}
