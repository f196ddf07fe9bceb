/**
 * The publisher lease in one process, with three clustered nats-servers: origins A, B and C publish to one
 * stream. Only the holder publishes; a standby answers 503 naming the holder; a holder that lost the lease
 * unawares (paused while another took it) is refused by the stream itself; a holder that stops hands over.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationInput } from '../../src/distribution/operations.js';
import { NatsPublisher } from '../../src/distribution/nats/publisher.js';
import { OriginServer } from '../../src/origin/server.js';
import { NatsCluster } from '../distribution/nats-servers.js';
import { rawRequest, tempDir } from '../origin/helpers.js';
import { TOKEN, testNatsConfig } from './cluster.js';

const STREAM = 'LEASE';
let servers: NatsCluster;
let nc: NatsConnection;
const opened: NatsPublisher[] = [];

async function open(leaseMs: number): Promise<NatsPublisher> {
  const p = await NatsPublisher.open({ ...testNatsConfig(servers.servers, STREAM), leaseMs }, []);
  opened.push(p);
  return p;
}

function put(path: string, text: string): { op: OperationInput; body: Buffer } {
  const body = Buffer.from(text);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { op: { kind: 'put', path, status: 200, etag: `"${sha256.slice(0, 16)}"`, sha256, length: body.length, headers: { 'content-type': 'text/html' } }, body };
}

async function publishOne(p: NatsPublisher, path: string, text: string): Promise<number> {
  return (await p.publish([put(path, text)]))[0]!.seq;
}

async function streamLastSeq(): Promise<number> {
  return (await (await jetstreamManager(nc, { checkAPI: false })).streams.info(STREAM)).state.last_seq;
}

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  servers = await NatsCluster.start(3);
  nc = await connect({ servers: servers.servers });
}, 60_000);

afterAll(async () => {
  for (const p of opened) await p.close().catch(() => undefined);
  await nc?.close();
  await servers?.stop();
}, 30_000);

describe('publisher lease (NATS backend)', () => {
  let a: NatsPublisher;
  let b: NatsPublisher;
  const acked: number[] = [];

  it('the first origin holds the lease and publishes; a second one is a standby whose push is a 503 naming the holder', { timeout: 30_000 }, async () => {
    // A renews only every 20 s: in the next test it stands for a holder paused while another took over.
    a = await open(60_000);
    expect(a.publishing).toBe(true);
    acked.push(await publishOne(a, '/a.html', 'a1'));
    b = await open(2000);
    expect(b.publishing).toBe(false);
    await expect(b.publish([put('/b.html', 'b1')])).rejects.toMatchObject({ status: 503, message: expect.stringMatching(new RegExp(`^not the publisher of stream ${STREAM}: origin \\S+ pid ${process.pid}, holding it since \\S+; this origin takes over if that lease goes unrenewed for 2 s$`)) });
    // Over HTTP, as `dnscdn push` sees it.
    const dir = await tempDir('nats-lease');
    await mkdir(join(dir, 'content'), { recursive: true });
    await writeFile(join(dir, 'content', 'b.html'), 'b1');
    const origin = await OriginServer.start({ contentDir: join(dir, 'content'), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, publisher: b });
    try {
      const r = await rawRequest(origin.adminUrl, '/.dnscdn/push', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['/b.html'] }) });
      expect(r.status).toBe(503);
      expect(r.body.toString()).toMatch(/not the publisher of stream LEASE: origin .* pid \d+/);
    } finally {
      await origin.close();
    }
    expect(await streamLastSeq()).toBe(acked.at(-1));
  });

  it('a holder that lost the lease without noticing is refused by the stream (expected last sequence), not interleaved', { timeout: 30_000 }, async () => {
    // The key goes as if A's lease had run out while A was paused: B takes it at its next look.
    const kv = await new Kvm(jetstream(nc)).open(`${STREAM}_LEASE`);
    await kv.delete('publisher');
    await until(() => b.publishing, 10_000, 'B did not take the free lease');
    acked.push(await publishOne(b, '/b.html', 'b1'));
    // A still believes in its lease (its next renewal is 20 s away), but the stream has an operation it did not publish.
    expect(a.publishing).toBe(true);
    await expect(publishOne(a, '/a.html', 'a2')).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/holds operations after seq \d+ that this origin did not publish: another origin publishes to it/) });
    expect(a.publishing).toBe(false);
    await expect(publishOne(a, '/a.html', 'a3')).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/not the publisher of stream LEASE/) });
    expect(await streamLastSeq()).toBe(acked.at(-1));
  });

  it('a holder that stops hands the lease over: a standby publishes next, after every acknowledged operation', { timeout: 30_000 }, async () => {
    const c = await open(2000);
    expect(c.publishing).toBe(false);
    acked.push(await publishOne(b, '/b.html', 'b2'));
    await b.close();
    await until(() => c.publishing, 10_000, 'C did not take over the released lease');
    expect(c.lastSeq).toBe(acked.at(-1));
    acked.push(await publishOne(c, '/c.html', 'c1'));
    expect(acked).toEqual(acked.map((_, i) => acked[0]! + i)); // consecutive: nothing lost, nothing interleaved
    expect(await streamLastSeq()).toBe(acked.at(-1));
    expect((await c.status()).journal.objects).toBe(3); // /a.html, /b.html from the state C loaded, and /c.html
  });
});
