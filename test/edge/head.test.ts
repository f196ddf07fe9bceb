/** HEAD on a miss (RFC 9110 §9.3.2): the same headers as GET, a correct Content-Length or none, never a body. */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.close();
});

/** Sends the requests on one keep-alive connection and returns everything the edge wrote until it closed. */
function rawExchange(port: number, requests: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(requests.join('')));
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

function chunkedOrigin(path: string, cacheControl: string): void {
  f.origin.on(path, (_req, res) => {
    res.writeHead(200, { 'cache-control': cacheControl, 'content-type': 'text/plain' });
    res.write('hello ');
    setTimeout(() => res.end('chunked world'), 20);
  });
}

describe('HEAD miss against a chunked origin', () => {
  it('a storable body: HEAD waits for the fill and sends its real Content-Length and no body', async () => {
    chunkedOrigin('/c', 'max-age=60');
    const head = await rawExchange(f.edge.address.port, ['HEAD /c HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n']);
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(/\r\ncontent-length: 19\r\n/i);
    expect(head).not.toMatch(/transfer-encoding/i);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    const get = await f.get('/c', { host: 'example.test' });
    expect([get.headers['x-cache'], get.body]).toEqual(['HIT', 'hello chunked world']);
    expect(f.origin.count('/c')).toBe(1);
  });

  it('an unstorable body: no Content-Length, no body, and the connection stays usable', async () => {
    chunkedOrigin('/p', 'no-store');
    const text = await rawExchange(f.edge.address.port, [
      'HEAD /p HTTP/1.1\r\nHost: example.test\r\n\r\n',
      'HEAD /p HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n',
    ]);
    const replies = text.split(/(?=HTTP\/1\.1 )/);
    expect(replies).toHaveLength(2);
    for (const r of replies) {
      expect(r).toMatch(/^HTTP\/1\.1 200/);
      expect(r).not.toMatch(/content-length/i);
      expect(r.endsWith('\r\n\r\n')).toBe(true);
    }
  });

  it('HEAD of a stored object and of a synthetic error carries no body', async () => {
    f.origin.on('/s', (_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '5' });
      res.end('12345');
    });
    await f.get('/s', { host: 'example.test' });
    await f.origin.close();
    const text = await rawExchange(f.edge.address.port, [
      'HEAD /s HTTP/1.1\r\nHost: example.test\r\n\r\n',
      'HEAD /gone HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n',
    ]);
    const [hit, synth] = text.split(/(?=HTTP\/1\.1 )/);
    expect(hit).toMatch(/\r\ncontent-length: 5\r\n/i);
    expect(hit!.endsWith('\r\n\r\n')).toBe(true);
    expect(synth).toMatch(/^HTTP\/1\.1 502/);
    expect(synth!.endsWith('\r\n\r\n')).toBe(true);
  });
});
