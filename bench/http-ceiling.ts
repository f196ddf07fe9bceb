/**
 * The Node.js HTTP ceiling for bench:edge: a plain node:http server answering GET /<path> with bodies
 * held in an in-memory Map, the least work an HTTP cache hit can cost in Node. The bodies are the
 * benchmark's objects (`/1k`, `/100k`: deterministic bytes), with the header set a cache hit carries.
 *
 *   node dist-bench/bench/http-ceiling.js --listen 127.0.0.1:8400
 */
import { createServer } from 'node:http';
import { parseHostPort } from '../src/net/address.js';
import { benchObjects } from './objects.js';

const i = process.argv.indexOf('--listen');
const listen = parseHostPort(process.argv[i + 1] ?? '127.0.0.1:8400');
const bodies = new Map<string, Buffer>(benchObjects().map((o) => [o.path, o.body]));

const server = createServer((req, res) => {
  const body = bodies.get(req.url ?? '');
  if (body === undefined) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'max-age=3600', age: '0' });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(listen.port, listen.host, () => process.stdout.write(`http-ceiling listening on ${listen.host}:${listen.port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
