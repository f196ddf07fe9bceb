/**
 * Issue 10 item 2, end to end: a client plants a request in the body of a GET. Before the fix the edge forwarded
 * the GET's Content-Length without its body; the origin (node:http, keep-alive) answered the GET at once and then
 * read the start of the edge's NEXT request on that pooled connection as the rest of that body. A second request
 * crafted so that what is left starts with `GET /img/dot.png` made the origin answer the PNG, which the edge
 * stored under /index.html and served as a HIT to everyone.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fixed, sendRaw, startFixture, type Fixture } from './harness.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture({ originTimeoutMs: 1000 });
  f.origin.on('/a', fixed(200, { 'cache-control': 'no-store' }, 'a'));
  f.origin.on('/index.html', fixed(200, { 'cache-control': 'max-age=86400', 'content-type': 'text/html' }, '<html>home</html>'));
  f.origin.on('/img/dot.png', fixed(200, { 'cache-control': 'max-age=86400', 'content-type': 'image/png' }, 'PNG'));
});
afterEach(async () => {
  await f.close();
});

it('a request planted in a GET body does not poison /index.html', async () => {
  const port = f.edge.address.port;
  // The edge forwards `GET /index.html HTTP/1.1\r\nx-a: <value>...`: the planted request line starts 31 bytes in.
  const skip = 'GET /index.html HTTP/1.1\r\nx-a: '.length;
  const first = await sendRaw(port, `GET /a HTTP/1.1\r\nHost: site\r\nContent-Length: ${skip}\r\nConnection: close\r\n\r\n${'x'.repeat(skip)}`);
  expect(first).toMatch(/^HTTP\/1.1 200/);
  const second = await sendRaw(port, 'GET /index.html HTTP/1.1\r\nX-A: GET /img/dot.png HTTP/1.1\r\nHost: site\r\nConnection: close\r\n\r\n');
  expect(second).toMatch(/^HTTP\/1.1 200/);
  expect(second).toMatch(/<html>home<\/html>$/);
  const hit = await f.get('/index.html', { host: 'site' });
  expect(hit.headers['x-cache']).toBe('HIT');
  expect(hit.headers['content-type']).toBe('text/html');
  expect(hit.body).toBe('<html>home</html>');
  expect(f.origin.seen.map((s) => s.url)).toEqual(['/a', '/index.html']);
  expect(f.origin.seen.every((s) => s.headers['content-length'] === undefined)).toBe(true);
});
