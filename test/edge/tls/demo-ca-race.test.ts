/** Edges started one by one may make the demo CA at the same time: they must all end up with one matching pair. */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDemoCertificates } from '../../../src/edge/tls/demo-ca.js';

describe('demo CA made by several processes at once', () => {
  it('leaves one CA and a server key that matches its certificate', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dnscdn-demo-ca-')), 'ca');
    // Concurrent calls in one process interleave at every await, as separate processes would.
    const results = await Promise.all(Array.from({ length: 5 }, () => ensureDemoCertificates(dir, ['www.cdn.test', '127.0.0.1'])));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const cert = new X509Certificate(readFileSync(join(dir, 'edge.pem')));
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'edge-key.pem'))))).toBe(true);
    expect(cert.checkIssued(new X509Certificate(readFileSync(join(dir, 'ca.pem'))))).toBe(true);
  });
});
