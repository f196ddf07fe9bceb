/**
 * A scripted DNS responder on loopback for resolver tests: each query (UDP or TCP) goes to a script
 * that may answer with a message, raw bytes (malformed on purpose), several datagrams, or nothing.
 * Forged replies come from the same socket so that they pass the address/port check and exercise the
 * ID and question checks.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, encodeMessage, frameForTcp } from '../../../src/dns/wire.js';
import type { Message, ResourceRecord } from '../../../src/dns/types.js';

export type Transport = 'udp' | 'tcp';
/** What the script sends back: nothing, one message or raw packet, or several in order. */
export type ScriptReply = Message | Buffer | undefined | Array<Message | Buffer>;
export type Script = (query: Message, transport: Transport, rinfo: { address: string; port: number }) => ScriptReply;

export interface Responder {
  host: string;
  port: number;
  queries: Array<{ message: Message; transport: Transport; from: { address: string; port: number } }>;
  close(): Promise<void>;
}

function toBuffers(reply: ScriptReply): Buffer[] {
  if (reply === undefined) return [];
  const list = Array.isArray(reply) ? reply : [reply];
  return list.map((r) => (Buffer.isBuffer(r) ? r : encodeMessage(r)));
}

/**
 * Starts UDP (and TCP on the same port) on `host`, port 0 unless given. With port 0 the UDP port the
 * kernel picked may be taken for TCP: then it tries again with another one.
 */
export async function startResponder(script: Script, host = '127.0.0.1', port = 0): Promise<Responder> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await bindResponder(script, host, port);
    } catch (err) {
      if (port !== 0 || attempt >= 5) throw err;
    }
  }
}

async function bindResponder(script: Script, host: string, port: number): Promise<Responder> {
  const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const queries: Responder['queries'] = [];
  udp.on('message', (buf: Buffer, rinfo: RemoteInfo) => {
    const decoded = decodeMessage(buf);
    if (decoded.kind !== 'message') return;
    queries.push({ message: decoded.message, transport: 'udp', from: { address: rinfo.address, port: rinfo.port } });
    for (const out of toBuffers(script(decoded.message, 'udp', rinfo))) udp.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, host, resolve));
  const boundPort = udp.address().port;
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buffered = Buffer.alloc(0);
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        const decoded = decodeMessage(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        if (decoded.kind !== 'message') continue;
        const from = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
        queries.push({ message: decoded.message, transport: 'tcp', from });
        for (const out of toBuffers(script(decoded.message, 'tcp', from))) sock.write(frameForTcp(out));
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(boundPort, host, resolve);
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  return {
    host,
    port: boundPort,
    queries,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

/** A response to `query` with the given sections; AA set unless overridden. */
export function reply(query: Message, parts: Partial<Pick<Message, 'rcode' | 'answers' | 'authorities' | 'additionals'>> & { aa?: boolean; tc?: boolean; id?: number } = {}): Message {
  return {
    id: parts.id ?? query.id,
    opcode: 'QUERY',
    rcode: parts.rcode ?? 0,
    flags: { qr: true, aa: parts.aa ?? true, tc: parts.tc ?? false, rd: query.flags.rd, ra: false, ad: false, cd: false },
    questions: query.questions,
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: parts.additionals ?? [],
  };
}

export const a = (name: string, address: string, ttl = 300): ResourceRecord => ({ name, type: 'A', class: 'IN', ttl, data: address });
export const ns = (name: string, target: string, ttl = 3600): ResourceRecord => ({ name, type: 'NS', class: 'IN', ttl, data: target });
export const cname = (name: string, target: string, ttl = 300): ResourceRecord => ({ name, type: 'CNAME', class: 'IN', ttl, data: target });
export const soa = (zone: string, ttl = 3600, minimum = 60): ResourceRecord => ({
  name: zone,
  type: 'SOA',
  class: 'IN',
  ttl,
  data: { mname: `ns.${zone}`, rname: `admin.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
});
