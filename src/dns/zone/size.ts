/**
 * How many bytes zone data takes on the wire, so that load time can refuse what no DNS message can
 * carry (as Knot does): RDLENGTH is 16 bits (RFC 1035 §3.2.1), and a message is at most 65535 bytes
 * because TCP frames it with a 2-byte length (RFC 1035 §4.2.2). Data past those limits would make
 * the encoder throw on the first query for it, so it must never reach a served zone.
 *
 * Sizes are computed from our record values, not by encoding: load time stays linear and cheap for
 * million-record zones.
 */
import { nameWireLength } from '../name-codec.js';
import type { ResourceRecord } from '../types.js';

/** RFC 1035 §4.2.2: the TCP length prefix is 16 bits. */
export const MAX_MESSAGE_LENGTH = 0xffff;
/** RFC 1035 §3.2.1: RDLENGTH is 16 bits. */
export const MAX_RDATA_LENGTH = 0xffff;
/** RFC 1035 §3.1: a name takes at most 255 bytes on the wire. */
export const MAX_NAME_LENGTH = 255;

const HEADER_LENGTH = 12;
/** QTYPE + QCLASS after the question name. */
const QUESTION_FIXED = 4;
/** TYPE, CLASS, TTL and RDLENGTH of a resource record. */
const RECORD_FIXED = 10;
/** An owner name equal to the question's is a compression pointer (the question sits at offset 12). */
const POINTER_LENGTH = 2;

function stringBytes(value: string | Buffer): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'latin1') : value.length;
}

/** RDLENGTH of a record as dns-packet writes it (uncompressed; RFC 1035 §3.3, RFC 2782, RFC 8659). */
export function rdataLength(record: ResourceRecord): number {
  switch (record.type) {
    case 'A':
      return 4;
    case 'AAAA':
      return 16;
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return nameWireLength(record.data);
    case 'MX':
      return 2 + nameWireLength(record.data.exchange);
    case 'SRV':
      return 6 + nameWireLength(record.data.target);
    case 'SOA':
      return nameWireLength(record.data.mname) + nameWireLength(record.data.rname) + 20;
    case 'TXT': {
      const strings = Array.isArray(record.data) ? record.data : [record.data];
      let n = 0;
      for (const s of strings) n += 1 + stringBytes(s);
      return n;
    }
    case 'CAA':
      return 2 + record.data.tag.length + stringBytes(record.data.value);
    default:
      throw new Error(`rdataLength: type ${record.type} is not loaded from zone files`);
  }
}

/**
 * The size of the smallest message that answers a question for this RRset: header, question, and each
 * record with its owner compressed to a pointer to the question. `questionLength` is the question name's
 * wire length: the owner's own, or for a wildcard owner the worst case (255), since any name below it
 * may be asked (RFC 4592 §3.3.1: the answer is owned by the name asked).
 */
export function answerMessageLength(questionLength: number, rdataLengths: readonly number[]): number {
  let n = HEADER_LENGTH + questionLength + QUESTION_FIXED;
  for (const rdlength of rdataLengths) n += answerRecordLength(rdlength);
  return n;
}

/** What one record adds to that answer: its owner as a pointer, fixed fields and RDATA. */
export function answerRecordLength(rdlength: number): number {
  return POINTER_LENGTH + RECORD_FIXED + rdlength;
}

/** RFC 4592 §2.1.1: a wildcard owner has `*` as its first label. */
export function isWildcardOwner(owner: string): boolean {
  return owner === '*' || owner.startsWith('*.');
}

/** The question length to budget for an owner: its own length, or 255 for a wildcard. */
export function worstQuestionLength(owner: string): number {
  return isWildcardOwner(owner) ? MAX_NAME_LENGTH : nameWireLength(owner);
}
