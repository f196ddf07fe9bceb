/**
 * The Node.js TLS ceiling for bench:edge's HTTPS cases: a plain node:https server (HTTP/1.1) and a plain
 * node:http2 secure server (HTTP/2), answering GET /<path> from an in-memory Map with the head a dnscdn hit
 * carries (objects.ts ceilingHead): the least work an HTTPS cache hit can cost in Node, per protocol.
 * `--bare`: with the 4-field head the ceiling sent before (a reference row).
 *
 *   node dist-bench/bench/tls-ceiling.js --h1 127.0.0.1:8401 --h2 127.0.0.1:8402 --cert edge.pem --key edge-key.pem [--bare]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import { parseHostPort } from '../src/net/address.js';
import { benchObjects, ceilingHead } from './objects.js';

const arg = (name: string): string => {
  const i = process.argv.indexOf(name);
  if (i < 0 || process.argv[i + 1] === undefined) throw new Error(`tls-ceiling: ${name} is required`);
  return process.argv[i + 1]!;
};
const tls = { cert: readFileSync(arg('--cert')), key: readFileSync(arg('--key')), minVersion: 'TLSv1.2' as const };
const bare = process.argv.includes('--bare');
/** Per path: the body, its head as writeHead's flat list (HTTP/1.1) and as an object (node:http2's compat writeHead). */
const answers = new Map(
  benchObjects().map((o) => {
    const list = ceilingHead(o, bare);
    const object: Record<string, string> = {};
    for (let i = 0; i < list.length; i += 2) object[list[i]!] = list[i + 1]!;
    return [o.path, { body: o.body, list, object }];
  }),
);

const h1 = createServer(tls, (req, res) => {
  const answer = answers.get(req.url ?? '');
  if (answer === undefined) return void res.writeHead(404, { 'content-length': 0 }).end();
  res.writeHead(200, answer.list);
  res.end(answer.body);
});
h1.keepAliveTimeout = 60_000;
const h2 = createSecureServer(tls, (req, res) => {
  const answer = answers.get(req.url);
  if (answer === undefined) return void res.writeHead(404, { 'content-length': 0 }).end();
  res.writeHead(200, answer.object);
  res.end(answer.body);
});
const a = parseHostPort(arg('--h1'));
const b = parseHostPort(arg('--h2'));
h1.listen(a.port, a.host, () => h2.listen(b.port, b.host, () => process.stdout.write(`tls-ceiling listening on ${a.host}:${a.port} (h1), ${b.host}:${b.port} (h2)\n`)));
process.once('SIGTERM', () => process.exit(0));
