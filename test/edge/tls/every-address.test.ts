/**
 * A dual-stack (multi-address) edge serves HTTPS on every address it serves HTTP on, with one cache and one set
 * of session-ticket keys: curl with the CA file gets 200 over TLS from 127.0.0.1 and from ::1, and a ticket
 * issued on one address resumes on the other. (test/config/edge-tls.test.ts checks that an edge with two addresses
 * in the deployment file gets both.)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import { fixed, startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';
import { connectWithTicket, type TicketedConnection } from './ticket-client.js';

const run = promisify(execFile);

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer;

beforeAll(async () => {
  pki = await startPki();
  const www = await pki.issue('www', ['www.cdn.test']);
  origin = await startOrigin();
  origin.on('/page', fixed(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, 'same page on every address\n'));
  edge = await startEdge({
    listen: ['127.0.0.1:0', '[::1]:0'],
    origin: origin.url,
    maxBytes: 1 << 20,
    tls: { listen: ['127.0.0.1:0', '[::1]:0'], certificates: [www] },
  });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

/** curl over TLS to `url` with Host/SNI www.cdn.test resolved to the URL's address: status line and X-Cache. */
async function curlVia(url: string, http: '--http1.1' | '--http2'): Promise<string> {
  const u = new URL(url);
  const r = await run('curl', ['-s', '-i', http, '--cacert', pki.caFile, '--resolve', `www.cdn.test:${u.port}:${u.hostname}`, `https://www.cdn.test:${u.port}/page`]);
  return r.stdout;
}

describe('HTTPS on every address', () => {
  it('curl --cacert gets 200 over TLS on 127.0.0.1 and on ::1, from one cache', async () => {
    expect(edge.httpsUrls).toHaveLength(2);
    const [v4, v6] = edge.httpsUrls;
    expect(new URL(v4!).hostname).toBe('127.0.0.1');
    expect(new URL(v6!).hostname).toBe('[::1]');
    expect(await curlVia(v4!, '--http2')).toMatch(/^HTTP\/2 200[\s\S]*x-cache: MISS[\s\S]*same page on every address/i);
    expect(await curlVia(v6!, '--http2')).toMatch(/^HTTP\/2 200[\s\S]*x-cache: HIT/i);
    expect(await curlVia(v6!, '--http1.1')).toMatch(/^HTTP\/1.1 200[\s\S]*x-cache: HIT/i);
    expect(origin.count('/page')).toBe(1);
  });

  it('a session ticket from one address resumes on the other (one set of ticket keys)', async () => {
    const connect = (url: string, session?: Buffer): Promise<TicketedConnection> => connectWithTicket(url, pki.ca.certPem, session);
    const first = await connect(edge.httpsUrls[0]!);
    expect(first.reused).toBe(false);
    expect((await connect(edge.httpsUrls[1]!, first.ticket)).reused).toBe(true);
  });
});
