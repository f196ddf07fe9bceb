/**
 * The encoded-answer fast path. Most authoritative queries are the same few questions asked again:
 * for those we keep the reply already encoded and answer by copying it, patching the ID and the
 * question bytes (so the question is echoed as sent, case included). A query takes this path only when
 * it is plain: one question, no answer/authority records, at most an OPT record with version 0 and no
 * options but a cookie and one client subnet (ECS, RFC 7871), QR=0, opcode QUERY. Anything else goes
 * through the general pipeline, which is also what fills this cache, so both paths give byte-identical
 * answers. An ECS option is echoed at the end of every reply (RFC 7871 §7.2.1): its family and source
 * prefix are part of the key, its address is patched in per query (`copyReply`).
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
  /** The query's client subnet option, checked as the wire layer checks it. */
  ecs?: EcsOption;
}

/** An RFC 7871 option as read from a query's bytes. */
export interface EcsOption {
  family: 1 | 2;
  sourcePrefixLength: number;
  /** ceil(source / 8) address bytes (a view into the query). */
  address: Buffer;
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
const CLIENT_SUBNET_OPTION = 8;

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
  let ecs: EcsOption | undefined;
  if (arcount === 1) {
    // OPT: root name (0), type 41, size, ext-rcode, version, flags, rdlength — and nothing after it.
    if (len < questionEnd + 11 || buf[questionEnd] !== 0 || buf.readUInt16BE(questionEnd + 1) !== OPT_TYPE) return undefined;
    if (buf[questionEnd + 5] !== 0 || buf[questionEnd + 6] !== 0) return undefined;
    const rdlength = buf.readUInt16BE(questionEnd + 9);
    if (len !== questionEnd + 11 + rdlength) return undefined;
    if (rdlength !== 0) {
      const options = readOptions(buf, questionEnd + 11, rdlength);
      if (!options) return undefined;
      ecs = options.ecs;
    }
    clientUdpSize = Math.max(CLASSIC_UDP_SIZE, buf.readUInt16BE(questionEnd + 3));
    edns = (buf[questionEnd + 7]! & 0x80) !== 0 ? 'do' : 'e';
  } else if (len !== questionEnd) return undefined;
  // latin1 keeps one char per byte, and toLowerCase folds A-Z as RFC 4343 asks; but it also folds the
  // latin1 capitals 0xc0-0xde, which are distinct bytes in a label. Names holding them (not hostnames,
  // and rare) take the general path rather than share a key with another name.
  const qname = buf.toString('latin1', 12, nameEnd);
  if (LATIN1_CAPITALS.test(qname)) return undefined;
  let key = `${qname.toLowerCase()}|${qtype}|${qclass}|${flags & 0x0110}|${edns}`;
  if (!ecs) return { key, questionEnd, clientUdpSize };
  key += `|${ecs.family}/${ecs.sourcePrefixLength}`;
  return { key, questionEnd, clientUdpSize, ecs };
}

/**
 * The OPT data when it holds at most one COOKIE and at most one well-formed client subnet option, in
 * any order; undefined for anything else (the general path decides). COOKIE (RFC 7873 §4: an 8-byte
 * client cookie, plus an optional 8..32-byte server cookie): we do not implement cookies, so we ignore
 * the option (§5.2) and the reply is the same as without it; dig and BIND send one with every query,
 * and they keep the fast path. A malformed client subnet is left to the general path, whose FORMERR
 * (wire.ts) is then the answer.
 */
function readOptions(buf: Buffer, at: number, rdlength: number): { ecs?: EcsOption } | undefined {
  const end = at + rdlength;
  let cookie = false;
  let ecs: EcsOption | undefined;
  while (at < end) {
    if (at + 4 > end) return undefined;
    const code = buf.readUInt16BE(at);
    const length = buf.readUInt16BE(at + 2);
    const data = at + 4;
    if (data + length > end) return undefined;
    if (code === COOKIE_OPTION && !cookie && (length === 8 || (length >= 16 && length <= 40))) cookie = true;
    else if (code === CLIENT_SUBNET_OPTION && !ecs) {
      ecs = readClientSubnet(buf, data, length);
      if (!ecs) return undefined;
    } else return undefined;
    at = data + length;
  }
  return ecs ? { ecs } : {};
}

/**
 * A client subnet option that the wire layer accepts (RFC 7871 §6: family 1 or 2, prefixes no longer
 * than the address, exactly ceil(source/8) address bytes, no bits set past the source prefix), or
 * undefined. The same rules as wire.ts `toClientSubnet`, on the bytes; a test feeds both the same options.
 */
function readClientSubnet(buf: Buffer, at: number, length: number): EcsOption | undefined {
  if (length < 4) return undefined;
  const family = buf.readUInt16BE(at);
  if (family !== 1 && family !== 2) return undefined;
  const source = buf[at + 2]!;
  const scope = buf[at + 3]!;
  const bits = family === 1 ? 32 : 128;
  if (source > bits || scope > bits || length - 4 !== (source + 7) >> 3) return undefined;
  if (source % 8 !== 0 && (buf[at + length - 1]! & (0xff >> source % 8)) !== 0) return undefined;
  return { family, sourcePrefixLength: source, address: buf.subarray(at + 4, at + length) };
}

/**
 * A reply for `query` from an encoded one kept for the same key: a fresh copy (dgram may still be
 * sending the previous one) with the query's ID, its question as sent (RFC 4343 case kept; compressed
 * names in the records point into it), RA for clients that may recurse, and the query's client subnet
 * address in the echoed option. The option is the last thing in a reply (wire.ts appends OPT after the
 * additionals and puts ECS first among no others), and same family and source prefix mean same length.
 */
export function copyReply(kept: Buffer, query: Buffer, plain: PlainQuery, recursionAvailable: boolean): Buffer {
  const out = Buffer.allocUnsafe(kept.length);
  kept.copy(out);
  out[0] = query[0]!;
  out[1] = query[1]!;
  query.copy(out, 12, 12, plain.questionEnd);
  if (recursionAvailable) out[3] = out[3]! | 0x80;
  if (plain.ecs) plain.ecs.address.copy(out, out.length - plain.ecs.address.length);
  return out;
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
    return copyReply(variant, query, plain, recursionAvailable);
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
