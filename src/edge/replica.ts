import type { DiskWriter } from '../distribution/durable-file.js';
import { Follower } from '../distribution/follower.js';
import type { FollowerSink } from '../distribution/follower.js';
import { NatsFeed } from '../distribution/nats/edge-feed.js';
import { answerReplica, REPLICA_PATH } from '../distribution/replica-endpoint.js';
import type { NatsConfig } from '../config/types.js';
import { HttpError } from '../errors.js';
import { logger } from '../log.js';
import type { AdminHandler } from '../http/admin-listener.js';
import type { EdgeCache } from './cache.js';

/**
 * The edge side of origin push. Operations from the distribution tier are made durable in a local replica
 * journal (with their bodies, by digest) and then applied to the cache in sequence order, so after a restart
 * the edge reloads what was pushed, remembers the last sequence it applied, and asks for everything after it
 * (at start and every `pollMs`). Pushed objects larger than the cache's max object size are skipped here and
 * reported back to the distribution node.
 */
export type EdgeReplicaOptions = ReplicaStateOptions & (
  | { cache: EdgeCache; sink?: FollowerSink }
  /** An edge primary's replica: applied operations go to its workers' caches (workers.ts), it has none itself. */
  | { cache?: undefined; sink: FollowerSink }
);

interface ReplicaStateOptions {
  /** Local state directory (replica journal + blobs). */
  dir: string;
  /** Distribution node to catch up from. */
  distributor?: string | undefined;
  token: string;
  pollMs?: number;
  /** Where replica journal and blob writes go (tests inject a disk that fills up or writes short). */
  disk?: DiskWriter;
}

const log = logger('replica');

export function cacheSink(cache: EdgeCache): FollowerSink {
  return {
    accepts: (op) => op.length <= cache.maxObjectBytes,
    maxBodyBytes: cache.maxObjectBytes,
    put(op, body) {
      const result = cache.putPushed({ path: op.path, status: op.status, headers: op.headers, body, etag: op.etag, seq: op.seq });
      if (result !== 'stored') log.warn('pushed object not stored', { path: op.path, seq: op.seq, result });
    },
    purge(op) {
      cache.purge(op.target);
    },
    clear: () => void cache.purgePrefix('/'),
  };
}

/** Where the replica routes go: an edge's admin listener (EdgeServer), or an edge primary's. */
export interface ReplicaRoutes {
  addAdminRoute(method: string, path: string, handler: AdminHandler): void;
}

export class EdgeReplica {
  /** With the NATS backend: the durable consumer that feeds the follower instead of HTTP pushes. */
  private feed: NatsFeed | undefined;

  private constructor(readonly follower: Follower) {}

  static async open(o: EdgeReplicaOptions): Promise<EdgeReplica> {
    const sink = o.cache === undefined ? o.sink : (o.sink ?? cacheSink(o.cache));
    const follower = await Follower.open({ dir: o.dir, upstream: o.distributor, token: o.token, sink, pollMs: o.pollMs, disk: o.disk });
    return new EdgeReplica(follower);
  }

  get lastSeq(): number {
    return this.follower.lastSeq;
  }

  /** `GET|POST /.dnscdn/replica` on the edge's admin listener (which checks the bearer token). */
  register(routes: ReplicaRoutes): void {
    routes.addAdminRoute('GET', REPLICA_PATH, async () => ({ status: 200, body: await answerReplica(this.follower, 'GET', undefined) }));
    routes.addAdminRoute('POST', REPLICA_PATH, async (req) => {
      try {
        return { status: 200, body: await answerReplica(this.follower, 'POST', req.body) };
      } catch (err) {
        if (err instanceof HttpError) return { status: err.status, body: err.message };
        throw err;
      }
    });
  }

  start(): void {
    this.follower.start();
  }

  /** Consume this edge's durable consumer on NATS JetStream (`distribution.backend: nats`). */
  startNats(config: NatsConfig, edgeName: string): void {
    this.feed ??= new NatsFeed(this.follower, config, edgeName);
  }

  catchUp(): Promise<void> {
    return this.follower.catchUp();
  }

  async close(): Promise<void> {
    await this.feed?.close();
    await this.follower.close();
  }
}

/** What `dnscdn edge` needs to take part in push: where to catch up from, where to keep state, the token. */
export interface EdgePushSettings {
  /** Distribution node (or an origin running one in-process); absent = accept pushes only, no catch-up. */
  distributor?: string | undefined;
  stateDir: string;
  token: string;
  pollMs?: number;
  /** With `distribution.backend: nats`: the cluster, and this edge's name (its durable consumer). */
  nats?: { config: NatsConfig; edge: string };
}

/**
 * Opens the edge's replica (reloading what was pushed before a restart into `sink`), adds its routes to the admin
 * listener, starts catch-up.
 */
export async function attachReplica(routes: ReplicaRoutes, s: EdgePushSettings, sink: FollowerSink): Promise<EdgeReplica> {
  const replica = await EdgeReplica.open({ sink, dir: s.stateDir, distributor: s.distributor, token: s.token, ...(s.pollMs ? { pollMs: s.pollMs } : {}) });
  replica.register(routes);
  if (s.nats) replica.startNats(s.nats.config, s.nats.edge);
  else replica.start();
  return replica;
}
