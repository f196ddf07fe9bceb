/**
 * One DNS question over UDP, encoded and decoded with dnscdn's own wire layer: for tools that ask the server
 * as a client would (the benchmarks' readiness checks, the chaos run's clients), not for the server itself.
 */
import { createSocket } from 'node:dgram';
import type { ClientSubnet, RecordType } from './types.js';
import { decodeMessage, encodeMessage } from './wire.js';

export interface ProbeAnswer {
  rcode: number;
  /** rdata of the answer records, as text. */
  data: string[];
  /** The smallest TTL among the answer records (seconds), or 0 without answers. */
  ttl: number;
}

/** Asks one question over UDP; resolves undefined on timeout or an unreadable reply. */
export function ask(host: string, port: number, name: string, type: RecordType = 'SOA', clientSubnet?: ClientSubnet, timeoutMs = 500): Promise<ProbeAnswer | undefined> {
  const query = encodeMessage({
    id: Math.floor(Math.random() * 0x10000),
    opcode: 'QUERY',
    rcode: 0,
    flags: { qr: false, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false },
    questions: [{ name, type, class: 'IN' }],
    answers: [],
    authorities: [],
    additionals: [],
    ...(clientSubnet !== undefined ? { edns: { udpPayloadSize: 1232, version: 0, dnssecOk: false, clientSubnet, otherOptions: [] } } : {}),
  });
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const done = (answer: ProbeAnswer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('message', (reply) => {
      const decoded = decodeMessage(reply);
      const m = decoded.kind === 'message' ? decoded.message : undefined;
      done(m ? { rcode: m.rcode, data: m.answers.map((a) => String(a.data)), ttl: m.answers.length === 0 ? 0 : Math.min(...m.answers.map((a) => a.ttl ?? 0)) } : undefined);
    });
    socket.once('error', () => done(undefined));
    socket.send(query, port, host);
  });
}
