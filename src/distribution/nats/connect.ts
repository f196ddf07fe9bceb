/**
 * One NATS connection from `distribution.nats`, and the streams and bucket the deployment needs. The client
 * fails over among the servers and reconnects for ever: a server that is down is the cluster's business, not
 * a reason for an edge or the origin to give up.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConfig } from '../../config/types.js';
import { natsNames } from './names.js';
import type { NatsNames } from './names.js';

export interface NatsLink {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: NatsNames;
  config: NatsConfig;
}

/**
 * JetStream drops a repeated Nats-Msg-Id seen within this window: a publisher retrying after a lost
 * acknowledgement (its server died, the origin was killed) gets the first publish's sequence back.
 */
export const DUPLICATE_WINDOW_NS = 10 * 60 * 1e9;

export async function connectNats(config: NatsConfig, name: string): Promise<NatsLink> {
  const options: NodeConnectionOptions = {
    servers: config.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // A dead server is found by the client's pings; 2 s x 2 keeps failover within a few seconds.
    pingInterval: 2000,
    maxPingOut: 2,
  };
  if (config.user !== undefined) {
    options.user = config.user;
    options.pass = config.password;
  }
  if (config.token !== undefined) options.token = config.token;
  if (config.credsFile !== undefined) options.authenticator = credsAuthenticator(readFileSync(config.credsFile));
  if (config.tls) {
    options.tls = {};
    if (config.tls.ca) options.tls.caFile = config.tls.ca;
    if (config.tls.cert) options.tls.certFile = config.tls.cert;
    if (config.tls.key) options.tls.keyFile = config.tls.key;
  }
  let nc: NatsConnection;
  try {
    nc = await connect(options);
  } catch (err) {
    throw new Error(`NATS ${config.servers.join(',')}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc, { checkAPI: false }), names: natsNames(config.stream), config };
}

/**
 * Creates (or updates) the operations stream, the state stream and the body bucket. File storage, the configured
 * replicas; the operations stream keeps the last `retainOps` and drops the oldest (an edge further behind
 * rebuilds from the state stream); the state stream keeps one message per subject (per path, and the marker).
 */
export async function ensureStreams(link: NatsLink): Promise<ObjectStore> {
  // A cluster that has just started answers "JetStream not ready" until its leaders are elected.
  for (let wait = 100, deadline = Date.now() + 30_000; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await createStreams(link);
    } catch (err) {
      if (Date.now() + wait > deadline || link.nc.isClosed()) throw new Error(`NATS ${link.config.servers.join(',')}: creating streams: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function createStreams(link: NatsLink): Promise<ObjectStore> {
  const { jsm, names, config } = link;
  const common = { storage: StorageType.File, num_replicas: config.replicas, retention: RetentionPolicy.Limits };
  await upsertStream(jsm, { ...common, name: names.stream, subjects: [`${names.prefix}.ops.>`], max_msgs: config.retainOps, discard: DiscardPolicy.Old, duplicate_window: DUPLICATE_WINDOW_NS });
  await upsertStream(jsm, { ...common, name: names.stateStream, subjects: [`${names.prefix}.state.>`], max_msgs_per_subject: 1, discard: DiscardPolicy.Old });
  return new Objm(link.js).create(names.bodies, { replicas: config.replicas, storage: StorageType.File });
}

type StreamSettings = Parameters<JetStreamManager['streams']['add']>[0];

async function upsertStream(jsm: JetStreamManager, cfg: StreamSettings & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
  } catch {
    await jsm.streams.add(cfg);
    return;
  }
  await jsm.streams.update(cfg.name, cfg);
}

export async function openBodies(link: NatsLink): Promise<ObjectStore> {
  return new Objm(link.js).open(link.names.bodies);
}
