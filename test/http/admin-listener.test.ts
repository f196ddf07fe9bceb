/** The admin listener every role mounts, over real sockets: open monitoring, token first, bounded bodies. */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { HttpError } from '../../src/errors.js';
import { AdminListener } from '../../src/http/admin-listener.js';
import { request } from '../../src/http/client.js';
import { createRegistry } from '../../src/metrics.js';

const TOKEN = 'admin-listener-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let admin: AdminListener;
let bodiesRead = 0;

beforeEach(async () => {
  const registry = createRegistry({ labels: { role: 'test' } });
  new Counter({ name: 'dnscdn_test_total', help: 'a test counter', registers: [registry] }).inc(3);
  admin = await AdminListener.start({ listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, registry, role: 'test', maxBodyBytes: 64 });
  bodiesRead = 0;
  admin.add('POST', '/.dnscdn/echo', (req) => {
    bodiesRead++;
    return { status: 200, body: { got: req.body.toString(), q: req.query.get('q') } };
  });
  admin.add('GET', '/.dnscdn/fail', () => {
    throw new Error('boom');
  });
  admin.add('GET', '/.dnscdn/teapot', () => {
    throw new HttpError(418, 'short and stout');
  });
});

afterEach(async () => {
  await admin.close();
});

/** Sends raw bytes and returns the status line of the answer (the connection may stay open). */
function rawStatusLine(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (c: Buffer) => {
      out += c.toString('latin1');
      const end = out.indexOf('\r\n');
      if (end >= 0) {
        s.destroy();
        resolve(out.slice(0, end));
      }
    });
    s.on('error', reject);
  });
}

describe('admin listener', () => {
  it('serves /metrics and /healthz without a token', async () => {
    const m = await request(`${admin.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.text()).toContain('dnscdn_test_total{role="test"} 3');
    expect((await request(`${admin.url}/healthz`)).text()).toBe('ok\n');
  });

  it('checks the token before reading a body: a wrong token with an oversized body is 401, not 413', async () => {
    const port = admin.address.port;
    const line = await rawStatusLine(port, `POST /.dnscdn/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 100000000\r\n\r\n`);
    expect(line).toBe('HTTP/1.1 401 Unauthorized');
    const none = await request(`${admin.url}/.dnscdn/echo`, { method: 'POST', body: 'x' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(bodiesRead).toBe(0);
  });

  it('routes by method and path, with the query; 405 for a known path, 404 for an unknown one', async () => {
    const r = await request(`${admin.url}/.dnscdn/echo?q=7`, { method: 'POST', headers: auth, body: 'hi' });
    expect(r.json()).toEqual({ got: 'hi', q: '7' });
    expect((await request(`${admin.url}/.dnscdn/echo`, { headers: auth })).status).toBe(405);
    expect((await request(`${admin.url}/.dnscdn/nothing`, { headers: auth })).status).toBe(404);
  });

  it('refuses a body over its limit with 413, by Content-Length or by bytes', async () => {
    const big = await request(`${admin.url}/.dnscdn/echo`, { method: 'POST', headers: auth, body: 'x'.repeat(65) });
    expect(big.status).toBe(413);
    expect(bodiesRead).toBe(0);
  });

  it('turns an HttpError into its status and anything else into 500, and keeps serving', async () => {
    const teapot = await request(`${admin.url}/.dnscdn/teapot`, { headers: auth });
    expect(teapot.status).toBe(418);
    expect(teapot.text()).toBe('short and stout\n');
    const fail = await request(`${admin.url}/.dnscdn/fail`, { headers: auth });
    expect(fail.status).toBe(500);
    expect(fail.text()).not.toContain('boom');
    expect((await request(`${admin.url}/healthz`)).status).toBe(200);
  });

  it('with no token configured every API answers 403 (disabled), never runs', async () => {
    const closed = await AdminListener.start({ listen: { host: '127.0.0.1', port: 0 }, token: undefined, registry: createRegistry({ labels: {} }), role: 'test' });
    let ran = false;
    closed.add('GET', '/.dnscdn/x', () => ((ran = true), { status: 200 }));
    try {
      expect((await request(`${closed.url}/.dnscdn/x`, { headers: { authorization: 'Bearer anything' } })).status).toBe(403);
      expect(ran).toBe(false);
    } finally {
      await closed.close();
    }
  });
});
