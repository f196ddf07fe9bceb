/**
 * Building replies: the header and question every reply shares, authority outcomes as messages, and
 * truncation to the client's UDP size (RFC 1035 §4.2.1, RFC 6891 §6.2.5: dns-packet does not size
 * replies, so we measure the encoded (compressed) reply and set TC ourselves).
 */
import type { AuthorityOutcome } from './authority.js';
import { rotateSlice } from './rotation.js';
import type { Edns, Message } from './types.js';
import { encodeMessage, HEADER_LENGTH } from './wire.js';

/** RFC 1035 §4.2.1: without EDNS a UDP reply holds at most 512 bytes. */
export const CLASSIC_UDP_SIZE = 512;
/** Our EDNS UDP size: 1232 avoids IP fragmentation on common paths (DNS Flag Day 2020). */
export const DEFAULT_UDP_PAYLOAD_SIZE = 1232;

/** The largest UDP reply this query may get. */
export function udpLimit(query: Message, ourSize: number): number {
  if (!query.edns) return CLASSIC_UDP_SIZE;
  return Math.max(CLASSIC_UDP_SIZE, Math.min(query.edns.udpPayloadSize, ourSize));
}

/**
 * An empty reply to `query`: same id and opcode, the question echoed as sent, RD and CD copied
 * (RFC 1035 §4.1.1, RFC 4035 §3.2.2), and an OPT record when the query had one (RFC 6891 §7), with
 * DO copied (RFC 3225 §3) and the client subnet echoed (RFC 7871 §7.2.1).
 */
export function replyTo(query: Message, rcode: number, ourUdpSize: number, scopePrefixLength = 0): Message {
  const reply: Message = {
    id: query.id,
    opcode: query.opcode,
    rcode,
    flags: { qr: true, aa: false, tc: false, rd: query.flags.rd, ra: false, ad: false, cd: query.flags.cd },
    questions: query.questions,
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (query.edns) {
    const edns: Edns = { udpPayloadSize: ourUdpSize, version: 0, dnssecOk: query.edns.dnssecOk, otherOptions: [] };
    if (query.edns.clientSubnet) edns.clientSubnet = { ...query.edns.clientSubnet, scopePrefixLength };
    reply.edns = edns;
  }
  return reply;
}

/** The reply for an authority outcome, with the rotating RRset turned by `rotationOffset`. */
export function authorityReply(query: Message, outcome: AuthorityOutcome, ourUdpSize: number, rotationOffset: number): Message {
  const reply = replyTo(query, outcome.rcode, ourUdpSize, outcome.scopePrefixLength ?? 0);
  reply.flags.aa = outcome.aa;
  const rot = outcome.rotation;
  reply.answers = rot && rotationOffset !== 0 ? rotateSlice(outcome.answers, rot.start, rot.count, rotationOffset) : outcome.answers;
  reply.authorities = outcome.authorities;
  reply.additionals = outcome.additionals;
  return reply;
}

/**
 * Encodes a reply within `limit` bytes. If it does not fit, the reply keeps its header, question and
 * OPT, drops every record and sets TC=1 (RFC 2181 §9: a partial RRset must not be used), so the
 * client retries over TCP.
 */
export function encodeWithin(reply: Message, limit: number): { bytes: Buffer; truncated: boolean } {
  const bytes = encodeMessage(reply);
  if (bytes.length <= limit) return { bytes, truncated: false };
  const cut: Message = { ...reply, flags: { ...reply.flags, tc: true }, answers: [], authorities: [], additionals: [] };
  return { bytes: encodeMessage(cut), truncated: true };
}

/**
 * A reply holding only the query's header: the id, opcode, RD and CD kept, QR set, the given rcode, no
 * sections (RFC 1035 §4.1.1). For queries whose body we cannot read (FORMERR) or cannot echo back.
 * Built from the bytes alone, so it cannot fail on them; undefined for a response or a short packet.
 */
export function headerOnlyReply(query: Buffer, rcode: number): Buffer | undefined {
  if (query.length < HEADER_LENGTH || (query[2]! & 0x80) !== 0) return undefined;
  const reply = Buffer.alloc(HEADER_LENGTH);
  query.copy(reply, 0, 0, 2);
  // QR=1; opcode and RD kept from the query (AA, TC cleared); RA=0, AD=0, CD kept; rcode in the low 4 bits.
  reply[2] = 0x80 | (query[2]! & 0x79);
  reply[3] = (query[3]! & 0x10) | (rcode & 0xf);
  return reply;
}
