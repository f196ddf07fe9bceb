/**
 * The upstream client: one question to one server, over UDP with a TCP retry on truncation.
 *
 * Poisoning defences (RFC 5452 §9.2): every try uses a fresh socket bound to port 0, so the kernel
 * picks a random ephemeral source port, and a crypto-random 16-bit ID. A datagram is accepted only
 * when its source address and port, its ID and its question all match what we sent; anything else
 * (forged, stray or malformed) is ignored and we keep listening until the try times out, so a forger
 * must win the race against the real server for every one of those fields at once.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { isIP } from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { decodeMessage, encodeMessage, frameForTcp } from '../wire.js';
import type { Message, Question } from '../types.js';
import type { ServerAddress } from './options.js';

export type Transport = 'udp' | 'tcp';

/** Why a datagram was not taken as the reply (a fixed set: it is a metric label). */
export type DiscardReason = 'wrong-source' | 'oversized' | 'malformed' | 'not-response' | 'wrong-id' | 'wrong-question';

/** What one try produced. Only a reply that passed every check is a 'reply'. */
export type UpstreamOutcome =
  | { kind: 'reply'; message: Message; transport: Transport }
  | { kind: 'timeout' }
  /** ICMP port unreachable, connection refused, socket error. */
  | { kind: 'unreachable'; reason: string }
  /** A TCP reply that could not be read or did not match (TCP has no race to keep waiting through). */
  | { kind: 'malformed'; reason: string };

export interface UpstreamRequest {
  server: ServerAddress;
  question: Question;
  /** RD=1 for forwarders, RD=0 when iterating. */
  recursionDesired: boolean;
  timeoutMs: number;
  /** Send an OPT record (RFC 6891); false for servers known to reject EDNS. Default true. */
  edns?: boolean;
}

export interface UpstreamClientOptions {
  udpPayloadSize: number;
  randomizeCase: boolean;
  /** Called once per datagram or TCP query sent (the upstream-queries metric). */
  onSend?: (transport: Transport) => void;
  /** Called for every reply that was ignored, with why (forged, stray or malformed). */
  onDiscard?: (reason: DiscardReason) => void;
}

/** Largest TCP message (RFC 1035 §4.2.2: 16-bit length). */
const MAX_TCP_MESSAGE = 65_535;

export class UpstreamClient {
  constructor(private readonly options: UpstreamClientOptions) {}

  async query(req: UpstreamRequest): Promise<UpstreamOutcome> {
    const question: Question = {
      ...req.question,
      name: this.options.randomizeCase ? randomizeCase(req.question.name) : req.question.name,
    };
    const deadline = Date.now() + req.timeoutMs;
    const edns = req.edns ?? true;
    const udp = await this.queryUdp(req.server, question, req.recursionDesired, edns, req.timeoutMs);
    if (udp.kind !== 'reply' || !udp.message.flags.tc) return udp;
    // RFC 7766 §5: a truncated UDP reply is retried over TCP, within what is left of this try.
    return this.queryTcp(req.server, question, req.recursionDesired, edns, Math.max(1, deadline - Date.now()));
  }

  private buildQuery(question: Question, rd: boolean, edns: boolean): Message {
    const query: Message = {
      id: randomInt(0, 0x10000),
      opcode: 'QUERY',
      rcode: 0,
      flags: { qr: false, aa: false, tc: false, rd, ra: false, ad: false, cd: false },
      questions: [question],
      answers: [],
      authorities: [],
      additionals: [],
    };
    if (edns) query.edns = { udpPayloadSize: this.options.udpPayloadSize, version: 0, dnssecOk: false, otherOptions: [] };
    return query;
  }

  /** The reply to `query`, or why these bytes are not it. */
  private checkReply(query: Message, reply: Buffer): { reason: DiscardReason } | { message: Message } {
    const decoded = decodeMessage(reply);
    if (decoded.kind !== 'message') return { reason: 'malformed' };
    const m = decoded.message;
    if (!m.flags.qr) return { reason: 'not-response' };
    if (m.id !== query.id) return { reason: 'wrong-id' };
    const q = query.questions[0]!;
    const r = m.questions[0];
    if (m.questions.length !== 1 || r === undefined) return { reason: 'wrong-question' };
    // With 0x20 the server must echo our exact spelling; without it, names compare case-insensitively.
    const sameName = this.options.randomizeCase ? r.name === q.name : r.name.toLowerCase() === q.name.toLowerCase();
    if (!sameName || r.type !== q.type || r.class !== q.class) return { reason: 'wrong-question' };
    return { message: m };
  }

  private queryUdp(server: ServerAddress, question: Question, rd: boolean, edns: boolean, timeoutMs: number): Promise<UpstreamOutcome> {
    const query = this.buildQuery(question, rd, edns);
    const wire = encodeMessage(query);
    const socket: Socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    return new Promise<UpstreamOutcome>((resolve) => {
      let done = false;
      const finish = (outcome: UpstreamOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try {
          socket.close();
        } catch {
          // Already closed by a failed bind: nothing to release.
        }
        resolve(outcome);
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      socket.on('error', (err) => finish({ kind: 'unreachable', reason: err.message }));
      socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
        // A connected socket already filters by peer; checking again keeps the rule visible and OS-independent.
        if (rinfo.address !== server.host || rinfo.port !== server.port) return this.discard('wrong-source');
        // We announced this size (512 without OPT, RFC 1035 §4.2.1); a bigger datagram is not a reply to our query (RFC 6891 §6.2.5).
        if (msg.length > (edns ? this.options.udpPayloadSize : 512)) return this.discard('oversized');
        const checked = this.checkReply(query, msg);
        if ('reason' in checked) return this.discard(checked.reason);
        finish({ kind: 'reply', message: checked.message, transport: 'udp' });
      });
      // Port 0: the kernel picks a random ephemeral port for each try (RFC 5452 §9.2).
      socket.bind(0, () => {
        socket.connect(server.port, server.host, () => {
          if (done) return;
          this.options.onSend?.('udp');
          socket.send(wire, (err) => {
            if (err) finish({ kind: 'unreachable', reason: err.message });
          });
        });
      });
    });
  }

  private queryTcp(server: ServerAddress, question: Question, rd: boolean, edns: boolean, timeoutMs: number): Promise<UpstreamOutcome> {
    const query = this.buildQuery(question, rd, edns);
    const wire = frameForTcp(encodeMessage(query));
    return new Promise<UpstreamOutcome>((resolve) => {
      let done = false;
      let buffered = Buffer.alloc(0);
      const socket = tcpConnect({ host: server.host, port: server.port });
      const finish = (outcome: UpstreamOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      socket.on('error', (err) => finish({ kind: 'unreachable', reason: err.message }));
      socket.on('close', () => finish({ kind: 'unreachable', reason: 'connection closed before a reply' }));
      socket.on('connect', () => {
        this.options.onSend?.('tcp');
        socket.write(wire);
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        // The length prefix bounds what we keep: never more than one 64 KiB message.
        if (buffered.length > MAX_TCP_MESSAGE + 2) return finish({ kind: 'malformed', reason: 'more data than one message' });
        if (buffered.length < 2) return;
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) return;
        const checked = this.checkReply(query, buffered.subarray(2, 2 + length));
        if ('reason' in checked) {
          this.discard(checked.reason);
          return finish({ kind: 'malformed', reason: checked.reason });
        }
        finish({ kind: 'reply', message: checked.message, transport: 'tcp' });
      });
    });
  }

  private discard(reason: DiscardReason): void {
    this.options.onDiscard?.(reason);
  }
}

/** 0x20 encoding: flip the case of each letter at random (draft-vixie-dnsext-dns0x20). */
export function randomizeCase(name: string): string {
  const bits = randomBytes(Math.ceil(name.length / 8) + 1);
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const upper = ((bits[i >> 3]! >> (i & 7)) & 1) === 1;
    out += /[a-z]/i.test(c) ? (upper ? c.toUpperCase() : c.toLowerCase()) : c;
  }
  return out;
}
