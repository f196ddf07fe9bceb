/**
 * The Node.js DNS ceiling for bench:dns: a UDP responder on node:dgram that does no DNS work per query.
 * Each distinct query (its bytes after the ID) is answered with a precomputed response packet, only the
 * ID patched. The packets come from a priming server (dnscdn itself, so the answers are byte for byte
 * the ones dnscdn sends): the first time a query is seen it is forwarded once and the reply kept; the
 * warm-up run sees every query of the mix, so the measured runs never forward.
 *
 *   node dist-bench/bench/dns-ceiling.js --listen 127.0.0.1:5400 --prime 127.0.0.1:5353
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { parseHostPort } from '../src/net/address.js';
import { literalSendOptions } from '../src/net/udp-literal.js';

/** Bounds: distinct queries kept, and forwarded queries awaiting the primer. */
const MAX_PACKETS = 100_000;
const MAX_PENDING = 10_000;

function option(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`usage: dns-ceiling --listen host:port --prime host:port (missing ${name})`);
  return value;
}

const listen = parseHostPort(option('--listen'));
const prime = parseHostPort(option('--prime'));
const packets = new Map<string, Buffer>();
const pending = new Map<number, { key: string; id0: number; id1: number; rinfo: RemoteInfo }>();
let nextId = 0;

// The same send path as dnscdn's (no dns.lookup per reply), so that the ceiling stays a ceiling.
const server = createSocket(literalSendOptions('udp4'));
const upstream = createSocket('udp4');

server.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const key = msg.toString('latin1', 2);
  const packet = packets.get(key);
  if (packet !== undefined) {
    // A copy per reply: send() may still hold the buffer when the next query arrives.
    const out = Buffer.allocUnsafe(packet.length);
    packet.copy(out);
    out[0] = msg[0]!;
    out[1] = msg[1]!;
    server.send(out, rinfo.port, rinfo.address);
    return;
  }
  if (pending.size >= MAX_PENDING) return;
  nextId = (nextId + 1) & 0xffff;
  pending.set(nextId, { key, id0: msg[0]!, id1: msg[1]!, rinfo });
  const forward = Buffer.from(msg);
  forward.writeUInt16BE(nextId, 0);
  upstream.send(forward, prime.port, prime.host);
});

upstream.on('message', (reply) => {
  if (reply.length < 12) return;
  const wait = pending.get(reply.readUInt16BE(0));
  if (wait === undefined) return;
  pending.delete(reply.readUInt16BE(0));
  if (packets.size < MAX_PACKETS) packets.set(wait.key, Buffer.from(reply));
  reply[0] = wait.id0;
  reply[1] = wait.id1;
  server.send(reply, wait.rinfo.port, wait.rinfo.address);
});

upstream.bind(0, '127.0.0.1');
server.bind(listen.port, listen.host, () => process.stdout.write(`dns-ceiling listening on ${listen.host}:${listen.port}\n`));
process.once('SIGTERM', () => process.exit(0));
