/**
 * Zone loading as an operator meets it: `dnscdn dns` started on a zones folder, queried with dig.
 * - Zone data that no message can carry is refused at load with file and line; the other zones serve
 *   (issue 10 item 7: such a zone used to load, and the first query for it killed the process).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

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
