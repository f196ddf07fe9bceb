import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { Distributor } from '../../src/distribution/distributor.js';
import { listenDistributor } from '../../src/distribution/server.js';
import { EdgeReplica } from '../../src/edge/replica.js';
import { startEdge } from '../../src/edge/server.js';
import type { EdgeServer } from '../../src/edge/server.js';
import { localPublisher } from '../../src/origin/publisher.js';
import type { Publisher } from '../../src/origin/publisher.js';
import { OriginServer } from '../../src/origin/server.js';
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
}

/** An origin, a stand-alone distribution node, and three edges on 127.0.0.11-13, all real sockets. */
export class Cluster {
  origin!: OriginServer;
  distributor!: Distributor;
  distributorUrl!: string;
  private closeDistributorHttp!: () => Promise<void>;
  sites: Site[] = [];
  base = '';

  static async start(): Promise<Cluster> {
    const c = new Cluster();
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
    for (let i = 0; i < 3; i++) c.sites.push(await c.startSite(`127.0.0.1${i + 1}`, 0, 0, join(c.base, `edge${i}`)));
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

  async startSite(host: string, port: number, adminPort: number, dir: string): Promise<Site> {
    const edge = await startEdge({ listen: { host, port }, adminListen: { host, port: adminPort }, origin: this.origin.url, maxBytes: 64 * 1024 * 1024, maxObjectBytes: 1024 * 1024, adminToken: TOKEN });
    const replica = await EdgeReplica.open({ cache: edge.cache, dir, distributor: this.distributorUrl || undefined, token: TOKEN, pollMs: 300 });
    replica.register(edge);
    if (this.distributorUrl) replica.start();
    return { edge, replica, host, port: edge.address.port, adminPort: Number(new URL(edge.adminUrl).port), dir };
  }

  async stopSite(i: number): Promise<void> {
    const s = this.sites[i]!;
    await s.edge.close();
    await s.replica.close();
  }

  async restartSite(i: number): Promise<void> {
    const s = this.sites[i]!;
    this.sites[i] = await this.startSite(s.host, s.port, s.adminPort, s.dir);
  }

  /** Waits (bounded) until every edge has applied the journal's last sequence. */
  async converged(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sites.some((s) => s.replica.lastSeq !== this.distributor.lastSeq)) {
      if (Date.now() > deadline) throw new Error(`not converged: ${this.sites.map((s) => s.replica.lastSeq).join(',')} vs ${this.distributor.lastSeq}`);
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
    await this.distributor.close();
    await this.origin.close();
  }
}
