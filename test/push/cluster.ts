import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { DEFAULT_BODY_GC_GRACE_MS } from '../../src/config/nats.js';
import type { NatsConfig } from '../../src/config/types.js';
import { Distributor } from '../../src/distribution/distributor.js';
import { NatsPublisher } from '../../src/distribution/nats/publisher.js';
import { listenDistributor } from '../../src/distribution/server.js';
import { EdgeReplica } from '../../src/edge/replica.js';
import { startEdge } from '../../src/edge/server.js';
import type { EdgeServer } from '../../src/edge/server.js';
import { localPublisher } from '../../src/origin/publisher.js';
import type { Publisher } from '../../src/origin/publisher.js';
import { OriginServer } from '../../src/origin/server.js';
import { privateLoopbacks } from '../net/loopback.js';
import { tempDir } from '../origin/helpers.js';

export const TOKEN = 'test-token-s3cr3t';

export interface Site {
  edge: EdgeServer;
  replica: EdgeReplica;
  host: string;
  port: number;
  /** The admin listener's port, kept across a restart: the distributor feeds the edge there. */
  adminPort: number;
  dir: string;
  /** `edge0` ...: its name in status, and its durable consumer with NATS. */
  name: string;
}

/**
 * Which distribution backend a cluster runs: dnscdn's journal (a stand-alone distribution node), or NATS
 * JetStream (servers given by the test file, test/distribution/nats-servers.ts).
 */
export type BackendChoice = { kind: 'journal' } | { kind: 'nats'; nats: NatsConfig };

/**
 * The NATS settings tests use: the given servers, 3 replicas, a stream of its own, few retained operations, a
 * 2 s publisher lease, and body garbage collection only when a test calls it.
 */
export function testNatsConfig(servers: string[], stream: string, retainOps = 60): NatsConfig {
  return { servers, stream, replicas: servers.length >= 3 ? 3 : 1, allowUnsafeSingleReplica: servers.length < 3, retainOps, leaseMs: 2000, bodyGcIntervalMs: 0, bodyGcGraceMs: DEFAULT_BODY_GC_GRACE_MS };
}

/**
 * An origin, a distribution backend (a stand-alone distribution node, or NATS JetStream), and three edges on
 * loopback addresses of their own, all real sockets.
 */
export class Cluster {
  origin!: OriginServer;
  distributor!: Distributor;
  distributorUrl!: string;
  nats: NatsPublisher | undefined;
  private closeDistributorHttp: () => Promise<void> = async () => undefined;
  sites: Site[] = [];
  base = '';

  constructor(readonly backend: BackendChoice = { kind: 'journal' }) {}

  /** The backend's last sequence (journal) or the last operation published (JetStream). */
  get lastSeq(): number {
    return this.nats ? this.nats.lastSeq : this.distributor.lastSeq;
  }

  static async start(backend: BackendChoice = { kind: 'journal' }): Promise<Cluster> {
    const c = new Cluster(backend);
    c.base = await tempDir('push');
    const content = join(c.base, 'content');
    await mkdir(join(content, 'img'), { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(join(content, `page${i}.html`), `<p>page ${i}</p>`);
    await writeFile(join(content, 'img', 'a.svg'), '<svg/>');
    await writeFile(join(content, 'img', 'b.svg'), '<svg></svg>');
    let target: Publisher | undefined;
    const lazy: Publisher = {
      publish: (items, opts) => target!.publish(items, opts),
      status: () => target!.status(),
    };
    c.origin = await OriginServer.start({
      contentDir: content,
      listen: { host: '127.0.0.1', port: 0 },
      rules: [
        { pattern: '*.html', cacheControl: 'public, max-age=600', surrogateKeys: ['html'] },
        { pattern: '/img/**', cacheControl: 'public, max-age=600', surrogateKeys: ['images'] },
      ],
      token: TOKEN,
      publisher: lazy,
    });
    // restartSite binds an edge's port again after closing it: each edge has a loopback address of its own
    // (test/net/loopback.ts), so no other test can have taken that port in between.
    if (backend.kind === 'nats') {
      c.nats = await NatsPublisher.open(backend.nats, ['edge0', 'edge1', 'edge2']);
      target = c.nats;
      for (const [i, host] of privateLoopbacks(3).entries()) c.sites.push(await c.startSite(host, 0, 0, join(c.base, `edge${i}`), `edge${i}`));
      return c;
    }
    for (const [i, host] of privateLoopbacks(3).entries()) c.sites.push(await c.startSite(host, 0, 0, join(c.base, `edge${i}`), `edge${i}`));
    c.distributor = await Distributor.open({
      dataDir: join(c.base, 'dist'),
      token: TOKEN,
      downstream: c.sites.map((s, i) => ({ name: `edge${i}`, url: s.edge.adminUrl })),
      link: { backoffMinMs: 20, backoffMaxMs: 200, idleCheckMs: 500 },
      compactAfter: 150,
    });
    const http = await listenDistributor(c.distributor, { host: '127.0.0.1', port: 0 }, { token: TOKEN });
    c.distributorUrl = http.adminUrl;
    c.closeDistributorHttp = http.close;
    target = localPublisher(c.distributor);
    for (const s of c.sites) await s.replica.catchUp();
    return c;
  }

  async startSite(host: string, port: number, adminPort: number, dir: string, name: string): Promise<Site> {
    const edge = await startEdge({ listen: { host, port }, adminListen: { host, port: adminPort }, origin: this.origin.url, maxBytes: 64 * 1024 * 1024, maxObjectBytes: 1024 * 1024, adminToken: TOKEN });
    const replica = await EdgeReplica.open({ cache: edge.cache, dir, distributor: this.distributorUrl || undefined, token: TOKEN, pollMs: 300 });
    replica.register(edge);
    if (this.backend.kind === 'nats') replica.startNats(this.backend.nats, name);
    else if (this.distributorUrl) replica.start();
    return { edge, replica, host, port: edge.address.port, adminPort: Number(new URL(edge.adminUrl).port), dir, name };
  }

  async stopSite(i: number): Promise<void> {
    const s = this.sites[i]!;
    await s.edge.close();
    await s.replica.close();
  }

  async restartSite(i: number): Promise<void> {
    const s = this.sites[i]!;
    this.sites[i] = await this.startSite(s.host, s.port, s.adminPort, s.dir, s.name);
  }

  /** Waits (bounded) until every edge has applied the journal's last sequence. */
  async converged(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sites.some((s) => s.replica.lastSeq !== this.lastSeq)) {
      if (Date.now() > deadline) throw new Error(`not converged: ${this.sites.map((s) => s.replica.lastSeq).join(',')} vs ${this.lastSeq}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Keys and ETags an edge holds, sorted: the state compared across edges. */
  stateOf(i: number): string[] {
    return this.sites[i]!.edge.cache
      .list()
      .map((e) => `${e.path} ${e.etag ?? ''}`)
      .sort();
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.sites.length; i++) await this.stopSite(i).catch(() => undefined);
    await this.closeDistributorHttp();
    await this.distributor?.close();
    await this.nats?.close();
    await this.origin.close();
  }
}
