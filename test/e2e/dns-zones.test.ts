/**
 * Zone loading as an operator meets it: `dnscdn dns` started on a zones folder, queried with dig.
 * - Zone data that no message can carry is refused at load with file and line; the other zones serve
 *   (issue 10 item 7: such a zone used to load, and the first query for it killed the process).
 * - A large zone reloads beside the queries: every zone keeps answering, the big one with its old data
 *   until the new version replaces it (item 8: a reload used to freeze the server until it was done).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startDnsServer } from '../../src/dns/server.js';
import type { Message } from '../../src/dns/types.js';
import { query, udpQuery } from '../dns/query-client.js';

const run = promisify(execFile);
let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill();
  child = undefined;
});

const HEAD = `$TTL 60
@ SOA ns1 host 1 2 3 4 5
@ NS ns1
ns1 A 192.0.2.1
`;

/** Starts `dnscdn dns` on the folder; resolves with its port and a view of everything it logged so far. */
async function startCli(zonesDir: string): Promise<{ port: number; log: () => string }> {
  const started = spawn(process.execPath, ['bin/dnscdn.js', 'dns', '--zones', zonesDir, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, DNSCDN_LOG: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child = started;
  let seen = '';
  started.stderr!.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  for (;;) {
    await once(started.stderr!, 'data');
    const m = /dns server started listen=127\.0\.0\.1:(\d+)/.exec(seen);
    if (m) return { port: Number(m[1]), log: () => seen };
  }
}

async function dig(port: number, ...args: string[]): Promise<string> {
  return (await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args])).stdout;
}

describe('zone data that cannot be sent', () => {
  it('is refused at load with file and line; the server keeps answering the other zones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-zones-'));
    writeFileSync(join(dir, 'good.test.zone'), HEAD + 'www A 192.0.2.80\n');
    // 300 TXT records of 255 bytes: about 80 KB, more than one message can hold (line 5 onwards).
    const txt = Array.from({ length: 300 }, (_, i) => `big TXT "${String(i).padStart(3, '0')}${'x'.repeat(252)}"`).join('\n');
    writeFileSync(join(dir, 'huge.test.zone'), HEAD + 'www A 192.0.2.81\n' + txt + '\n');
    // One TXT record of 257 strings: RDATA of 65,792 bytes (the repro: the first UDP query threw a RangeError).
    const strings = Array.from({ length: 257 }, () => `"${'z'.repeat(255)}"`).join(' ');
    writeFileSync(join(dir, 'wide.test.zone'), HEAD + `one TXT ( ${strings} )\n`);
    const { port, log } = await startCli(dir);

    // Over UDP (where the crash was) and TCP: the refused zones are not served at all, the good one is.
    expect(await dig(port, 'one.wide.test', 'TXT')).toMatch(/status: REFUSED/);
    expect(await dig(port, 'big.huge.test', 'TXT')).toMatch(/status: REFUSED/);
    expect(await dig(port, '+tcp', 'big.huge.test', 'TXT')).toMatch(/status: REFUSED/);
    expect(await dig(port, 'www.good.test', 'A')).toMatch(/^www\.good\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.80$/m);
    expect(child!.exitCode).toBeNull();
    expect(log()).toMatch(/zone has errors; not loaded zone=wide\.test error=".*wide\.test\.zone:5: TXT record data is 65792 bytes; RDATA holds at most 65535/);
    expect(log()).toMatch(/zone has errors; not loaded zone=huge\.test error=".*huge\.test\.zone:\d+: the TXT RRset of \\"big\.huge\.test\\" needs \d+ bytes/);
  });
});

/** A zone of `names` A records plus a TXT record saying which version it is. */
function bigZone(version: string, names: number): string {
  const lines = [HEAD, `version TXT "${version}"`];
  for (let i = 0; i < names; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return lines.join('\n') + '\n';
}

const txt = (m: Message): string => m.answers.map((r) => (r.type === 'TXT' ? (r.data as Buffer[]).join('') : '')).join();

describe('reloading a large zone', () => {
  it('keeps answering every zone while it loads, with the old data until the new version swaps in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-zones-'));
    writeFileSync(join(dir, 'good.test.zone'), HEAD + 'www A 192.0.2.80\n');
    writeFileSync(join(dir, 'big.test.zone'), bigZone('v1', 50_000));
    const server = await startDnsServer({ zonesDir: dir, watchZones: false, listen: [{ host: '127.0.0.1', port: 0 }] });
    try {
      const port = server.addresses[0]!.port;
      writeFileSync(join(dir, 'big.test.zone'), bigZone('v2', 50_000));
      let reloaded = false;
      const reload = server.reload().then((report) => {
        reloaded = true;
        return report;
      });
      // Queries sent one after the other until the reload is done: each is answered in the meantime.
      const during: Array<{ good: Message; version: string }> = [];
      while (!reloaded) {
        const good = await udpQuery(port, query('www.good.test', 'A'));
        const version = txt(await udpQuery(port, query('version.big.test', 'TXT')));
        if (!reloaded) during.push({ good, version });
      }
      expect((await reload).loaded).toEqual(['big.test', 'good.test']);
      // Queries were answered while the load ran (a synchronous load answers none: the loop's first query
      // waits behind it, and by then the reload is done). How many depends on the machine's speed: on an
      // idle one a 50k-record load takes ~100 ms, so only "at least one" is asserted.
      expect(during.length).toBeGreaterThan(0);
      for (const d of during) {
        expect(d.good.answers.map((r) => r.data)).toEqual(['192.0.2.80']);
        expect(d.version).toBe('v1');
      }
      expect(txt(await udpQuery(port, query('version.big.test', 'TXT')))).toBe('v2');
      expect((await udpQuery(port, query('h49999.big.test', 'A'))).answers.map((r) => r.data)).toEqual(['10.0.195.79']);
    } finally {
      await server.close();
    }
  });
});
