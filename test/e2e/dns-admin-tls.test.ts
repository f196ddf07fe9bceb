/**
 * The DNS role's admin listener (/metrics, /healthz, the dashboard) honours the deployment's root `tls.admin` as
 * every other role's admin listener does: HTTPS with that certificate, an https:// URL in the start-up line, and
 * plain HTTP refused. `dnscdn dns --config` as a user runs it, one process and a primary with two workers (each
 * path starts its own listener); curl with the test CA, as an operator or Prometheus scrapes it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCa, type TestCa } from '../net/test-ca.js';
import { privateLoopback } from '../net/loopback.js';
import { startDnsFromFile, type DnsFromFile } from './dns-cli.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-dns-admin-tls-'));
const host = privateLoopback();
let ca: TestCa;
const started: DnsFromFile[] = [];

beforeAll(() => {
  ca = makeTestCa();
  const admin = ca.issue('admin', { ip: [host] });
  cpSync('zones', join(dir, 'zones'), { recursive: true });
  writeFileSync(
    join(dir, 'dnscdn.yaml'),
    `dns:
  listen: ${host}:0
  zones: zones/
edges:
  a: { addresses: [127.0.0.11], port: 8080, location: { lat: 51.5, lon: -0.1 } }
pools:
  www.cdn.test: { edges: [a] }
geo:
  databases: none
tls:
  admin: { cert: ${admin.certFile}, key: ${admin.keyFile} }
`,
  );
});
afterAll(() => {
  for (const d of started) d.child.kill('SIGTERM');
  if (ca) rmSync(ca.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

async function curl(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const r = await run('curl', ['-s', '--max-time', '5', ...args]);
    return { code: 0, stdout: r.stdout };
  } catch (err) {
    return { code: (err as { code: number }).code, stdout: '' };
  }
}

describe('dns admin listener with tls.admin', () => {
  for (const workers of ['1', '2']) {
    it(`serves /metrics and /healthz over HTTPS only (--workers ${workers})`, async () => {
      const dns = await startDnsFromFile(join(dir, 'dnscdn.yaml'), ['--workers', workers, '--admin-listen', `${host}:0`]);
      started.push(dns);
      expect(dns.admin).toMatch(new RegExp(`^https://${host.replace(/\./g, '\\.')}:\\d+$`));
      const metrics = await curl('--cacert', ca.caFile, `${dns.admin!}/metrics`);
      expect(metrics.code).toBe(0);
      expect(metrics.stdout).toContain('dnscdn_dns_');
      expect((await curl('--cacert', ca.caFile, `${dns.admin!}/healthz`)).stdout).toContain('"status":"ok"');
      // Plain HTTP on the TLS port gets no answer (curl: empty reply or connection reset), never the metrics.
      const plain = await curl(`${dns.admin!.replace('https:', 'http:')}/metrics`);
      expect(plain.stdout).not.toContain('dnscdn_dns_');
      dns.child.kill('SIGTERM');
    });
  }
});
