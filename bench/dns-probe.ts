/**
 * One-off DNS questions from the benchmark process (readiness checks, checking that steering answers
 * as configured), encoded and decoded with dnscdn's own wire layer.
 */
import { createSocket } from 'node:dgram';
import type { ClientSubnet, RecordType } from '../src/dns/types.js';
import { decodeMessage, encodeMessage } from '../src/dns/wire.js';

export interface ProbeAnswer {
  rcode: number;
  /** rdata of the answer records, as text. */
  data: string[];
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
    const socket = createSocket('udp4');
    const done = (answer: ProbeAnswer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('message', (reply) => {
      const decoded = decodeMessage(reply);
      done(decoded.kind === 'message' ? { rcode: decoded.message.rcode, data: decoded.message.answers.map((a) => String(a.data)) } : undefined);
    });
    socket.once('error', () => done(undefined));
    socket.send(query, port, host);
  });
}

/** True when the server answers a question about `zone` at all. */
export async function dnsAnswers(host: string, port: number, zone = 'cdn.test'): Promise<boolean> {
  return (await ask(host, port, zone, 'SOA', undefined, 300)) !== undefined;
}

/** The RFC 7871 option as dnsperf's `-E code:hex` argument (option code 8). */
export function ecsOptionArgument(subnet: ClientSubnet): string {
  const bytes = Math.ceil(subnet.sourcePrefixLength / 8);
  const address = subnet.address.split('.').map(Number).slice(0, bytes);
  const data = Buffer.from([0, subnet.family, subnet.sourcePrefixLength, 0, ...address]);
  return `8:${data.toString('hex')}`;
}
