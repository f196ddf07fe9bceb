/** The link client over real sockets: any port works, and every failure names the URL it tried and why. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkError, request } from '../../src/http/client.js';
import { freeTcpPort } from '../push/processes.js';
import { loopbackWithFreePort } from './blocked-ports.js';

const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function serve(host: string, port: number, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  return `http://${host}:${typeof a === 'object' && a ? a.port : port}`;
}

async function failureOf(p: Promise<unknown>): Promise<LinkError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinkError);
  return err as LinkError;
}

describe('link client', () => {
  it.each([6000, 10080])('talks to a server on port %i, which fetch refuses', async (port) => {
    const host = await loopbackWithFreePort(port);
    const base = await serve(host, port, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body })));
    });
    // The reason for this module: fetch gives a bare "fetch failed" here.
    await expect(fetch(`${base}/x`)).rejects.toThrow(/fetch failed/);
    const res = await request(`${base}/x`, { method: 'POST', headers: { authorization: 'Bearer t0ken-123' }, body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ method: 'POST', auth: 'Bearer t0ken-123', body: 'hello' });
  });

  it('names the URL and the cause when nothing listens', async () => {
    const port = await freeTcpPort('127.0.0.1');
    const err = await failureOf(request(`http://127.0.0.1:${port}/.dnscdn/status`));
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.message).toContain(`GET http://127.0.0.1:${port}/.dnscdn/status: `);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('names the URL and the deadline when the peer does not answer', async () => {
    const base = await serve('127.0.0.1', 0, () => undefined);
    const started = Date.now();
    const err = await failureOf(request(`${base}/slow`, { timeoutMs: 200 }));
    expect(err.code).toBe('timeout');
    expect(err.message).toBe(`GET ${base}/slow: timed out after 200 ms`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a body over the limit, declared or streamed', async () => {
    const big = Buffer.alloc(64 * 1024, 'x');
    const base = await serve('127.0.0.1', 0, (req, res) => {
      if (req.url === '/declared') res.setHeader('content-length', big.length);
      res.end(big);
    });
    const declared = await failureOf(request(`${base}/declared`, { maxBodyBytes: 1000 }));
    expect(declared.code).toBe('too-large');
    expect(declared.message).toContain(`GET ${base}/declared: `);
    const streamed = await failureOf(request(`${base}/chunked`, { maxBodyBytes: 1000 }));
    expect(streamed.code).toBe('too-large');
    expect((await request(`${base}/chunked`, { maxBodyBytes: big.length })).body.length).toBe(big.length);
  });

  it('says which URL answered something that is not JSON', async () => {
    const base = await serve('127.0.0.1', 0, (_req, res) => res.end('<html>'));
    const res = await request(`${base}/status`);
    expect(() => res.json()).toThrow(`GET ${base}/status: answered 200 with a body that is not JSON`);
  });

  it('retries a GET, never a POST, whose pooled connection the server dropped', async () => {
    // The server drops every connection at its second request: what a keep-alive timeout racing a reuse looks like.
    const served = new WeakMap<object, number>();
    let answered = 0;
    const base = await serve('127.0.0.1', 0, (req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n > 1) return void req.socket.destroy();
      answered++;
      res.end('ok');
    });
    expect((await request(`${base}/a`)).text()).toBe('ok');
    // Dropped on the pooled connection, answered on a new one.
    expect((await request(`${base}/b`)).text()).toBe('ok');
    expect(answered).toBe(2);
    // The same happens to a POST, which may have been acted on: it is not sent again (a retry would succeed).
    const err = await failureOf(request(`${base}/c`, { method: 'POST', body: 'x' }));
    expect(err.code).toBe('ECONNRESET');
    expect(err.message).toContain(`POST ${base}/c: `);
    expect(answered).toBe(2);
  });

  it('reuses one keep-alive connection for consecutive requests', async () => {
    const peers = new Set<number>();
    const base = await serve('127.0.0.1', 0, (req, res) => {
      peers.add(req.socket.remotePort ?? 0);
      res.end('ok');
    });
    for (let i = 0; i < 5; i++) expect((await request(`${base}/`)).text()).toBe('ok');
    expect(peers.size).toBe(1);
  });
});
