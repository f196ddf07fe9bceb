/**
 * TSIG (RFC 8945) on zone transfers, end to end: dig -y signs an AXFR and verifies every message of
 * the signed answer; plain, wrongly keyed or wrongly signed requests are refused; Knot DNS as a
 * secondary configured with the key bootstraps the zone, and one with a wrong key cannot.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../src/dns/server.js';
import { parseTsigKey } from '../../src/dns/tsig.js';
import { query, udpQuery } from '../dns/query-client.js';
import { freePortOn, privateLoopback } from '../net/loopback.js';
import { startKnotSecondary, type KnotSecondary } from './knot-secondary.js';

const run = promisify(execFile);
/** Knot's ports are written into its configs before it starts: found free on an address of this test's own. */
const KNOT_HOST = privateLoopback();
const SECRET = Buffer.alloc(32, 7).toString('base64');
const WRONG = Buffer.alloc(32, 9).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-tsig-'));
let server: DnsServer;
let port: number;
let goodKnotPort: number;
const zonesDir = join(dir, 'zones');
const knots: KnotSecondary[] = [];

beforeAll(async () => {
  cpSync('zones', zonesDir, { recursive: true });
  // A zone of 3000 TXT records: its transfer takes several messages, each MAC chaining the previous (§5.3.1).
  const big = ['$ORIGIN big.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 3600 600 604800 60', '  IN NS ns1', 'ns1 IN A 127.0.0.1'];
  for (let i = 0; i < 3000; i++) big.push(`r${i} IN TXT "${'x'.repeat(40)}"`);
  writeFileSync(join(zonesDir, 'big.test.zone'), big.join('\n') + '\n');
  goodKnotPort = await freePortOn(KNOT_HOST);
  server = await startDnsServer({
    zonesDir,
    notify: [{ host: KNOT_HOST, port: goodKnotPort }],
    watchZones: false,
    listen: [{ host: '127.0.0.1', port: 0 }],
    allowTransfer: ['127.0.0.0/8'],
    tsigKeys: [parseTsigKey(`transfer-key:hmac-sha256:${SECRET}`)],
  });
  port = server.addresses[0]!.port;
});
afterAll(async () => {
  for (const knot of knots) await knot.stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['+time=2', '+tries=1', '@127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

describe('dig and TSIG-signed AXFR', () => {
  it('dig -y with the key: the whole zone, every message signed and verified by dig', async () => {
    const out = await dig('-y', `hmac-sha256:transfer-key:${SECRET}`, 'cdn.test', 'AXFR');
    expect(out).not.toMatch(/failed|tsig verify failure|BADSIG|Transfer failed/i);
    const soa = out.split('\n').filter((l) => /^cdn\.test\.\s+\d+\s+IN\s+SOA/.test(l));
    expect(soa).toHaveLength(2);
    // dig prints the TSIG record of each signed message it verified.
    expect(out).toMatch(/transfer-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/);
  });

  it('a transfer of several messages: dig verifies each MAC in the chain', async () => {
    const out = await dig('-y', `hmac-sha256:transfer-key:${SECRET}`, 'big.test', 'AXFR');
    expect(out).not.toMatch(/failed|tsig verify failure|BADSIG|Transfer failed/i);
    const size = /XFR size: (\d+) records \(messages (\d+),/.exec(out);
    expect(size?.slice(1).map(Number)).toEqual([3004, expect.any(Number)]);
    expect(Number(size![2])).toBeGreaterThan(1);
  });

  it('IXFR signed the same way: dig -y ixfr=OLD gets the zone, verified', async () => {
    const out = await dig('-y', `hmac-sha256:transfer-key:${SECRET}`, 'cdn.test', 'IXFR=2024060100');
    expect(out).not.toMatch(/failed|tsig verify failure|BADSIG|Transfer failed/i);
    expect(out).toMatch(/XFR size: 32 records/);
  });

  it('plain dig AXFR is refused when a key is configured', async () => {
    const out = await dig('cdn.test', 'AXFR');
    expect(out).toContain('Transfer failed');
    expect(out).not.toMatch(/IN\s+SOA/);
  });

  it('a wrong secret is BADSIG, an unknown key name BADKEY; the server keeps answering', async () => {
    expect(await dig('-y', `hmac-sha256:transfer-key:${WRONG}`, 'cdn.test', 'AXFR')).toMatch(/BADSIG/);
    expect(await dig('-y', `hmac-sha256:other-key:${SECRET}`, 'cdn.test', 'AXFR')).toMatch(/BADKEY/);
    expect((await udpQuery(port, query('rr.cdn.test', 'A'))).answers).toHaveLength(3);
  });
});

describe("the README's way: dnscdn dns --tsig-key name:hmac-sha256:@file", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill();
  });

  it('dig -y transfers, plain dig is refused', async () => {
    const secretFile = join(dir, 'xfr.secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    child = spawn(process.execPath, ['bin/dnscdn.js', 'dns', '--zones', 'zones/', '--listen', '127.0.0.1:0', '--allow-transfer', '127.0.0.0/8', '--tsig-key', `xfr-key:hmac-sha256:@${secretFile}`], {
      env: { ...process.env, DNSCDN_LOG: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let seen = '';
    let cliPort = 0;
    while (cliPort === 0) {
      const [chunk] = (await once(child.stderr!, 'data')) as [Buffer];
      seen += chunk.toString();
      cliPort = Number(/dns server started listen=127\.0\.0\.1:(\d+)/.exec(seen)?.[1] ?? 0);
    }
    const digCli = async (...args: string[]): Promise<string> => (await run('dig', ['+time=3', '+tries=1', '@127.0.0.1', '-p', String(cliPort), ...args])).stdout;
    expect(await digCli('-y', `hmac-sha256:xfr-key:${SECRET}`, 'cdn.test', 'AXFR')).toMatch(/XFR size: 32 records \(messages 1,/);
    expect(await digCli('cdn.test', 'AXFR')).toContain('Transfer failed');
  });

  it('a bad key flag stops start-up with the reason', async () => {
    const failed = await run(process.execPath, ['bin/dnscdn.js', 'dns', '--tsig-key', `k:hmac-md5:${SECRET}`]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toMatch(/TSIG key "k": algorithm "hmac-md5" is not supported/);
  });
});

describe('Knot DNS as a TSIG-keyed secondary', () => {
  /** A Knot secondary of cdn.test from us; `secret` undefined: no key at all. */
  function startKnot(name: string, secret: string | undefined, knotPort: number): KnotSecondary {
    const knot = startKnotSecondary({ dir: join(dir, name), host: KNOT_HOST, port: knotPort, primaryPort: port, ...(secret !== undefined && { key: { name: 'transfer-key', secret } }) });
    knots.push(knot);
    return knot;
  }

  async function knotAnswers(knotPort: number, name: string): Promise<string[]> {
    try {
      const reply = await udpQuery(knotPort, query(name, 'A'), KNOT_HOST);
      return reply.answers.map((r) => String(r.data)).sort();
    } catch {
      return [];
    }
  }

  async function waitFor<T>(get: () => Promise<T> | T, done: (v: T) => boolean): Promise<T> {
    let v = await get();
    for (let i = 0; i < 100 && !done(v); i++) {
      await new Promise((r) => setTimeout(r, 100));
      v = await get();
    }
    return v;
  }
  it('with the key, Knot transfers cdn.test, then accepts our signed NOTIFY and follows a change', async () => {
    const good = startKnot('knot-good', SECRET, goodKnotPort);
    const got = await waitFor(() => knotAnswers(good.port, 'rr.cdn.test'), (v) => v.length === 3);
    expect(got, good.log()).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13']);
    // Knot's refresh timer is an hour and its notify ACL requires the key: only a signed NOTIFY brings this over.
    const file = join(zonesDir, 'cdn.test.zone');
    writeFileSync(file, readFileSync(file, 'utf8').replace('2024060101 ; serial', '2024060102 ; serial').replace('IN  A   127.0.0.13', 'IN  A   127.0.0.13\n            IN  A   127.0.0.14'));
    await server.reload();
    const after = await waitFor(() => knotAnswers(good.port, 'rr.cdn.test'), (v) => v.length === 4);
    expect(after, good.log()).toEqual(['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14']);
    expect(good.log()).toMatch(/notify, incoming, remote 127\.0\.0\.1@\d+, serial 2024060102/);
  });

  it('with a wrong secret Knot cannot transfer (it cannot verify our BADSIG answer); with no key it is refused', async () => {
    const bad = startKnot('knot-bad', WRONG, await freePortOn(KNOT_HOST));
    const none = startKnot('knot-none', undefined, await freePortOn(KNOT_HOST));
    const badLog = await waitFor(() => bad.log(), (l) => /refresh, remote dnscdn.*failed/.test(l));
    expect(badLog).toMatch(/refresh, remote dnscdn, address 127\.0\.0\.1@\d+, failed \(failed to verify TSIG\)/);
    const noneLog = await waitFor(() => none.log(), (l) => /refresh, remote dnscdn.*failed/.test(l));
    expect(noneLog).toMatch(/refresh, remote dnscdn, address 127\.0\.0\.1@\d+, failed \(not allowed\)/);
    expect(await knotAnswers(bad.port, 'rr.cdn.test')).toEqual([]);
    expect(await knotAnswers(none.port, 'rr.cdn.test')).toEqual([]);
  });
});
