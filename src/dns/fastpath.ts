/**
 * The encoded-answer fast path. Most authoritative queries are the same few questions asked again:
 * for those we keep the reply already encoded and answer by copying it, patching the ID and the
 * question bytes (so the question is echoed as sent, case included). A query takes this path only when
 * it is plain: one question, no answer/authority records, at most an OPT record with version 0 and no
 * options but a cookie (no ECS), QR=0, opcode QUERY. Anything else goes through the general pipeline,
 * which is also what fills this cache, so both paths give byte-identical answers.
 *
 * Round-robin: an entry holds one encoding per rotation and picks one with the same RoundRobin
 * counter the general path uses. The cache is bounded (LRU) and emptied on every zone reload.
 */
import { LRUCache } from 'lru-cache';
import { RoundRobin } from './rotation.js';
import type { RRset } from './zone/store.js';
import { CLASSIC_UDP_SIZE } from './response.js';

/** What the fast path read from a query's bytes. */
export interface PlainQuery {
  /** (lowercased qname bytes, qtype, qclass, RD/CD bits, EDNS and DO): everything the reply depends on. */
  key: string;
  /** Offset just past the question. */
  questionEnd: number;
  /** The client's advertised UDP payload size (512 without EDNS). */
  clientUdpSize: number;
}

export interface EncodedAnswer {
  /** One encoding per rotation of the round-robin RRset (one entry when nothing rotates). */
  variants: Buffer[];
  rotation?: RRset;
}

const OPT_TYPE = 41;
/** The characters above ASCII that String#toLowerCase changes when a name is read as latin1. */
const LATIN1_CAPITALS = /[\u00c0-\u00de]/;
const COOKIE_OPTION = 10;

/** Reads a query that the fast path can serve, or undefined for anything unusual. Never throws. */
export function readPlainQuery(buf: Buffer): PlainQuery | undefined {
  const len = buf.length;
  if (len < 17) return undefined;
  const flags = buf.readUInt16BE(2);
  // QR=0, opcode 0, TC=0 (mask 0xfa00 covers QR, opcode and TC... AA is ignored by servers).
  if ((flags & 0xfa00) !== 0) return undefined;
  if (buf.readUInt16BE(4) !== 1 || buf.readUInt16BE(6) !== 0 || buf.readUInt16BE(8) !== 0) return undefined;
  const arcount = buf.readUInt16BE(10);
  if (arcount > 1) return undefined;
  let i = 12;
  for (;;) {
    if (i >= len) return undefined;
    const l = buf[i]!;
    if (l === 0) break;
    if (l > 63) return undefined; // compression pointers and extended labels: general path
    i += l + 1;
  }
  const nameEnd = i + 1;
  if (nameEnd - 12 > 255 || nameEnd + 4 > len) return undefined;
  const qtype = buf.readUInt16BE(nameEnd);
  const qclass = buf.readUInt16BE(nameEnd + 2);
  const questionEnd = nameEnd + 4;
  let edns = 'n';
  let clientUdpSize = CLASSIC_UDP_SIZE;
  if (arcount === 1) {
    // OPT: root name (0), type 41, size, ext-rcode, version, flags, rdlength — and nothing after it.
    if (len < questionEnd + 11 || buf[questionEnd] !== 0 || buf.readUInt16BE(questionEnd + 1) !== OPT_TYPE) return undefined;
    if (buf[questionEnd + 5] !== 0 || buf[questionEnd + 6] !== 0) return undefined;
    const rdlength = buf.readUInt16BE(questionEnd + 9);
    if (len !== questionEnd + 11 + rdlength) return undefined;
    if (rdlength !== 0 && !onlyCookie(buf, questionEnd + 11, rdlength)) return undefined;
    clientUdpSize = Math.max(CLASSIC_UDP_SIZE, buf.readUInt16BE(questionEnd + 3));
    edns = (buf[questionEnd + 7]! & 0x80) !== 0 ? 'do' : 'e';
  } else if (len !== questionEnd) return undefined;
  // latin1 keeps one char per byte, and toLowerCase folds A-Z as RFC 4343 asks; but it also folds the
  // latin1 capitals 0xc0-0xde, which are distinct bytes in a label. Names holding them (not hostnames,
  // and rare) take the general path rather than share a key with another name.
  const qname = buf.toString('latin1', 12, nameEnd);
  if (LATIN1_CAPITALS.test(qname)) return undefined;
  const key = `${qname.toLowerCase()}|${qtype}|${qclass}|${flags & 0x0110}|${edns}`;
  return { key, questionEnd, clientUdpSize };
}

/**
 * True when the OPT data is one COOKIE option (RFC 7873 §4: an 8-byte client cookie, plus an optional
 * 8..32-byte server cookie). We do not implement cookies, so we ignore the option (§5.2) and the reply
 * is the same as without it: dig and BIND send one with every query, and they keep the fast path.
 */
function onlyCookie(buf: Buffer, at: number, rdlength: number): boolean {
  if (rdlength < 4 || buf.readUInt16BE(at) !== COOKIE_OPTION) return false;
  const length = buf.readUInt16BE(at + 2);
  return rdlength === 4 + length && (length === 8 || (length >= 16 && length <= 40));
}

export class EncodedAnswerCache {
  private readonly entries: LRUCache<string, EncodedAnswer>;

  constructor(
    private readonly roundRobin: RoundRobin,
    maxEntries = 10_000,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /**
   * The reply for `query` if we hold it and it fits `limit` bytes (the UDP limit, or 65535 on TCP);
   * otherwise undefined and the general path answers (and truncates). Entries are encoded with RA=0;
   * `recursionAvailable` sets it for clients that may recurse (RA is the only client-dependent bit of
   * an authoritative answer, RFC 1035 §4.1.1), so the cache serves both kinds of client.
   */
  answer(query: Buffer, plain: PlainQuery, limit: number, recursionAvailable = false): Buffer | undefined {
    const entry = this.entries.get(plain.key);
    if (!entry) return undefined;
    const variant = entry.rotation ? entry.variants[this.roundRobin.peek(entry.rotation) % entry.variants.length]! : entry.variants[0]!;
    // Too big: the general path truncates, and advances the rotation itself (each query turns it once).
    if (variant.length > limit) return undefined;
    if (entry.rotation) this.roundRobin.next(entry.rotation);
    // A fresh buffer per reply: dgram may still be sending the previous one.
    const out = Buffer.allocUnsafe(variant.length);
    variant.copy(out);
    out[0] = query[0]!;
    out[1] = query[1]!;
    query.copy(out, 12, 12, plain.questionEnd);
    if (recursionAvailable) out[3] = out[3]! | 0x80;
    return out;
  }

  store(key: string, entry: EncodedAnswer): void {
    this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
