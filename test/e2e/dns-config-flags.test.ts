/**
 * `dnscdn dns --config FILE` with flags beside it, as a user runs it (a child process, dig, curl): the
 * file's dns.transfer keys work, and --allow-transfer, --notify, --admin-listen and --root-hints
 * (which the command used to ignore next to --config) replace the file's keys.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/dns/types.js';
import { decodeMessage } from '../../src/dns/wire.js';
import { HINTS_FILE, startHierarchy, type Hierarchy } from '../dns/resolver/hierarchy.js';
import { startDnsFromFile } from './dns-cli.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-dns-flags-'));
const file = join(dir, 'dnscdn.yaml');
writeFileSync(
  file,
  `dns:
  listen: 127.0.0.1:0
  zones: ${resolve('zones')}
  transfer:
    allow: [127.0.0.3/32]
edges: {}
geo:
  databases: none
`,
);

const children: ChildProcess[] = [];
let hierarchy: Hierarchy;
let notifyTarget: Socket;
const notifies: Message[] = [];

/** Starts `dnscdn dns --config FILE ...args` (dns-cli.ts); its DNS port and metrics URL from its start-up line. */
async function startDns(args: string[]): Promise<{ port: number; metrics: string | undefined }> {
  const dns = await startDnsFromFile(file, args);
  children.push(dns.child);
  return { port: dns.port, metrics: dns.admin === undefined ? undefined : `${dns.admin}/metrics` };
}

async function dig(port: number, ...args: string[]): Promise<string> {
  return (await run('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', ...args])).stdout;
}

function soaRecords(axfr: string): string[] {
  return axfr.split('\n').filter((l) => /\sIN\s+SOA\s/.test(l));
}

let flagged: { port: number; metrics: string | undefined };

beforeAll(async () => {
  hierarchy = await startHierarchy();
  notifyTarget = createSocket('udp4');
  notifyTarget.on('message', (msg) => {
    const d = decodeMessage(msg);
    if (d.kind === 'message') notifies.push(d.message);
  });
  await new Promise<void>((r) => notifyTarget.bind(0, '127.0.0.1', r));
  flagged = await startDns([
    '--allow-transfer', '127.0.0.2/32',
    '--notify', `127.0.0.1:${notifyTarget.address().port}`,
    '--admin-listen', '127.0.0.1:0',
    '--root-hints', HINTS_FILE,
    '--upstream-port', String(hierarchy.port),
  ]);
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null) continue;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  notifyTarget?.close();
  await hierarchy?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dnscdn dns --config with the file alone', () => {
  it('dns.transfer.allow lets its clients transfer the zone, and nobody else', async () => {
    const { port } = await startDns([]);
    expect(soaRecords(await dig(port, '-b', '127.0.0.3', 'cdn.test', 'AXFR'))).toHaveLength(2);
    expect(await dig(port, '-b', '127.0.0.2', 'cdn.test', 'AXFR')).toContain('Transfer failed');
  });
});

describe('dnscdn dns --config with flags beside it', () => {
  it('--allow-transfer 127.0.0.2/32 lets 127.0.0.2 transfer the zone, in place of the file\'s list', async () => {
    const axfr = await dig(flagged.port, '-b', '127.0.0.2', 'cdn.test', 'AXFR');
    expect(soaRecords(axfr)).toHaveLength(2);
    expect(axfr).toMatch(/^rr\.cdn\.test\.\s+\d+\s+IN\s+A\s+127\.0\.0\.11$/m);
    expect(await dig(flagged.port, '-b', '127.0.0.3', 'cdn.test', 'AXFR')).toContain('Transfer failed');
  });

  it('--notify sends NOTIFY for each zone to that secondary', async () => {
    for (let i = 0; i < 50 && notifies.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(notifies[0]).toMatchObject({ opcode: 'NOTIFY', questions: [{ name: 'cdn.test', type: 'SOA', class: 'IN' }] });
  });

  it('--admin-listen serves the metrics page', async () => {
    expect(flagged.metrics).toBeDefined();
    await dig(flagged.port, 'rr.cdn.test', 'A');
    const { stdout } = await run('curl', ['-s', flagged.metrics!]);
    expect(stdout).toMatch(/^dnscdn_dns_handled_total\{handler="authority",role="dns"\} [1-9]/m);
  });

  it('--root-hints turns recursion on (the file has no recursion section)', async () => {
    const out = await dig(flagged.port, 'host.other.test');
    expect(out).toMatch(/flags: qr rd ra;/);
    expect(out).toMatch(/^host\.other\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.20$/m);
  });
});
