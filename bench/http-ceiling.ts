/**
 * The Node.js HTTP ceiling for bench:edge: a plain node:http server answering GET /<path> with bodies
 * held in an in-memory Map, the least work an HTTP cache hit can cost in Node. The bodies are the
 * benchmark's objects (`/1k`, `/100k`: deterministic bytes), with the head a dnscdn hit carries (objects.ts
 * ceilingHead); `--bare`: with the 4-field head it sent before (a reference row).
 *
 *   node dist-bench/bench/http-ceiling.js --listen 127.0.0.1:8400 [--bare]
 */
import { createServer } from 'node:http';
import { parseHostPort } from '../src/net/address.js';
import { benchObjects, ceilingHead } from './objects.js';

const i = process.argv.indexOf('--listen');
const listen = parseHostPort(process.argv[i + 1] ?? '127.0.0.1:8400');
const answers = new Map(benchObjects().map((o) => [o.path, { body: o.body, head: ceilingHead(o, process.argv.includes('--bare')) }]));

const server = createServer((req, res) => {
  const answer = answers.get(req.url ?? '');
  if (answer === undefined) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, answer.head);
  res.end(answer.body);
});
server.keepAliveTimeout = 60_000;
server.listen(listen.port, listen.host, () => process.stdout.write(`http-ceiling listening on ${listen.host}:${listen.port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
