/** The tests' own small DNS client over real loopback sockets (UDP datagrams and framed TCP). */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Edns, Message, RecordType } from '../../src/dns/types.js';
import { decodeMessage, encodeMessage, frameForTcp } from '../../src/dns/wire.js';

let nextId = 1;

export function query(name: string, type: RecordType | 'ANY', options: { edns?: Partial<Edns> | false; rd?: boolean; id?: number } = {}): Message {
  const m: Message = {
    id: options.id ?? (nextId++ & 0xffff),
    opcode: 'QUERY',
    rcode: 0,
    flags: { qr: false, aa: false, tc: false, rd: options.rd ?? false, ra: false, ad: false, cd: false },
    questions: [{ name, type: type as RecordType, class: 'IN' }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (options.edns !== false && options.edns !== undefined) m.edns = { udpPayloadSize: 1232, version: 0, dnssecOk: false, otherOptions: [], ...options.edns };
  return m;
}

export function decodeReply(bytes: Buffer): Message {
  const d = decodeMessage(bytes);
  if (d.kind !== 'message') throw new Error(`undecodable reply: ${d.kind}`);
  return d.message;
}

/** Sends raw bytes over UDP; resolves with the reply bytes, or undefined after `timeoutMs` without one. */
export function udpExchange(port: number, bytes: Buffer, host = '127.0.0.1', timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(bytes, port, host);
  });
}

export async function udpQuery(port: number, m: Message, host = '127.0.0.1'): Promise<Message> {
  const reply = await udpExchange(port, encodeMessage(m), host);
  if (!reply) throw new Error('no UDP reply');
  return decodeReply(reply);
}

/** Sends several queries on one TCP connection (pipelined) and collects that many replies. */
export async function tcpQueries(port: number, messages: Message[], host = '127.0.0.1'): Promise<Message[]> {
  return (await tcpExchangeAll(port, messages.map(encodeMessage), host)).map(decodeReply);
}

/** Sends raw bytes as one framed query on a fresh TCP connection; resolves with the reply's bytes. */
export async function tcpExchange(port: number, bytes: Buffer, host = '127.0.0.1'): Promise<Buffer> {
  return (await tcpExchangeAll(port, [bytes], host))[0]!;
}

/**
 * Sends raw messages framed and pipelined on one TCP connection, and resolves with as many reply
 * messages (in the order they arrive), or with fewer when the server closes the connection first.
 */
export function tcpExchangeAll(port: number, messages: Buffer[], host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('close', () => resolve(replies));
    socket.on('connect', () => socket.write(Buffer.concat(messages.map(frameForTcp))));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        replies.push(buf.subarray(2, buf.readUInt16BE(0) + 2));
        buf = buf.subarray(buf.readUInt16BE(0) + 2);
      }
      if (replies.length === messages.length) {
        socket.end();
        resolve(replies);
      }
    });
  });
}
