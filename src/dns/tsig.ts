/**
 * TSIG (RFC 8945) with HMAC-SHA256, on wire buffers: the MAC covers the exact bytes of the message
 * without its TSIG record, so this works below the codec (dns-packet does not know TSIG rdata, and
 * re-encoding would change compression and so the MAC).
 *
 * Contract:
 * - `verifyRequest(frame, keys, now)` finds the TSIG record (the last additional, §5.1), checks key,
 *   MAC and time, and returns a value, never throws: `unsigned`, `valid` (with the state needed to sign
 *   the answer) or `invalid` (with the TSIG error and the frame to answer from).
 * - `TsigSigner` signs a stream of responses: the first MAC chains the request MAC (§5.3), each next
 *   one the previous MAC, with timers only (§5.3.1). We sign every message, not only every 100th.
 * - `signMessage(message, key, now)` signs a request we send (NOTIFY, §5.1).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TSIG_ALGORITHM, type TsigKey } from '../config/tsig-keys.js';

// Keys are parsed where the deployment file and the flags both reach them (config/tsig-keys.ts).
export { parseTsigKey, TSIG_ALGORITHM, tsigKey, type TsigKey } from '../config/tsig-keys.js';

const TYPE_TSIG = 250;
const CLASS_ANY = 255;
const MAC_LENGTH = 32; // SHA-256 output
/** §5.2.2.1: a MAC shorter than max(10, half the digest) is malformed; we accept no truncation at all above it (BADTRUNC). */
const MIN_MAC_LENGTH = 16;
/** §10: 300 s is the recommended fudge. */
export const DEFAULT_FUDGE = 300;

/** TSIG error codes (§3, IANA "TSIG/TKEY Error"). */
export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
export type TsigErrorName = keyof typeof TSIG_ERROR;
const RCODE_NOTAUTH = 9;
const RCODE_FORMERR = 1;

function lengthPrefixed(mac: Buffer): Buffer {
  const b = Buffer.alloc(2 + mac.length);
  b.writeUInt16BE(mac.length, 0);
  mac.copy(b, 2);
  return b;
}


/** The parsed TSIG record of a message. */
interface TsigRecord {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** Offset where the TSIG record starts: the message before it is what the MAC covers. */
  start: number;
}

export type TsigVerdict =
  | { kind: 'unsigned' }
  | { kind: 'valid'; key: TsigKey; signer: TsigSigner }
  /** `rcode` is the DNS rcode to answer with (NOTAUTH, or FORMERR for a malformed record); `reply` signs or not as §5.2 says. */
  | { kind: 'invalid'; error: TsigErrorName | 'FORMERR'; keyName: string; rcode: number; signer: TsigSigner | undefined; reason: string };

/**
 * Checks a request's TSIG (§5.2): key known (BADKEY), MAC right (BADSIG, constant-time compare),
 * time within fudge (BADTIME, checked after the MAC so an attacker learns nothing from it).
 */
export function verifyRequest(frame: Buffer, keys: readonly TsigKey[], nowSeconds: number): TsigVerdict {
  const found = findTsig(frame);
  if (found === 'none') return { kind: 'unsigned' };
  if (found === 'malformed') return { kind: 'invalid', error: 'FORMERR', keyName: '', rcode: RCODE_FORMERR, signer: undefined, reason: 'malformed TSIG record' };
  const tsig = found;
  const key = keys.find((k) => k.name === tsig.keyName);
  if (!key || tsig.algorithm !== TSIG_ALGORITHM) return invalid('BADKEY', tsig, undefined, key ? `algorithm ${tsig.algorithm}` : `unknown key ${tsig.keyName}`);
  if (tsig.mac.length > MAC_LENGTH || tsig.mac.length < MIN_MAC_LENGTH) return { kind: 'invalid', error: 'FORMERR', keyName: tsig.keyName, rcode: RCODE_FORMERR, signer: undefined, reason: `MAC of ${tsig.mac.length} bytes` };
  const expected = requestMac(frame, tsig, key);
  if (!timingSafeEqual(expected.subarray(0, tsig.mac.length), tsig.mac)) return invalid('BADSIG', tsig, undefined, 'MAC does not match');
  if (tsig.mac.length < MAC_LENGTH) return invalid('BADTRUNC', tsig, undefined, `MAC truncated to ${tsig.mac.length} bytes`);
  const signer = new TsigSigner(key, tsig.mac, tsig.fudge);
  // The request names its own fudge; we never allow more than ours (300 s), or a client holding a
  // captured request could widen the replay window to 18 hours by asking for fudge 65535.
  if (Math.abs(nowSeconds - tsig.timeSigned) > Math.min(tsig.fudge, DEFAULT_FUDGE)) {
    // §5.2.3: a BADTIME answer is signed, and its Other Data carries our time so the client can see the skew.
    return invalid('BADTIME', tsig, signer, `time signed ${tsig.timeSigned}, now ${nowSeconds}, fudge ${Math.min(tsig.fudge, DEFAULT_FUDGE)}`);
  }
  return { kind: 'valid', key, signer };
}

function invalid(error: TsigErrorName, tsig: TsigRecord, signer: TsigSigner | undefined, reason: string): TsigVerdict {
  return { kind: 'invalid', error, keyName: tsig.keyName, rcode: RCODE_NOTAUTH, signer, reason };
}

/**
 * Signs the messages of one response stream. The first `sign` covers the request MAC plus all TSIG
 * variables (§5.3); later ones the previous MAC plus timers only (§5.3.1).
 */
export class TsigSigner {
  private previousMac: Buffer;
  private first = true;

  constructor(
    readonly key: TsigKey,
    requestMac: Buffer,
    private readonly fudge: number,
  ) {
    this.previousMac = requestMac;
  }

  /** `message` unsigned (its ARCOUNT without the TSIG); returns it with the TSIG record appended. */
  sign(message: Buffer, nowSeconds: number, error = 0, other: Buffer = Buffer.alloc(0)): Buffer {
    const hmac = createHmac('sha256', this.key.secret);
    hmac.update(lengthPrefixed(this.previousMac));
    hmac.update(message);
    hmac.update(this.first ? variables(this.key.name, nowSeconds, this.fudge, error, other) : timers(nowSeconds, this.fudge));
    const mac = hmac.digest();
    this.first = false;
    this.previousMac = mac;
    return appendTsig(message, this.key.name, nowSeconds, this.fudge, mac, error, other);
  }
}

/** A request we send (NOTIFY), signed: MAC over the message and all TSIG variables (§4.3.3). */
export function signMessage(message: Buffer, key: TsigKey, nowSeconds: number, fudge = DEFAULT_FUDGE): Buffer {
  const hmac = createHmac('sha256', key.secret);
  hmac.update(message);
  hmac.update(variables(key.name, nowSeconds, fudge, 0, Buffer.alloc(0)));
  return appendTsig(message, key.name, nowSeconds, fudge, hmac.digest(), 0, Buffer.alloc(0));
}

/** §5.3.2 / §5.2: BADKEY, BADSIG and BADTRUNC answers carry a TSIG with an empty MAC, unsigned. */
export function unsignedTsigError(message: Buffer, keyName: string, timeSigned: number, error: number): Buffer {
  return appendTsig(message, keyName, timeSigned, DEFAULT_FUDGE, Buffer.alloc(0), error, Buffer.alloc(0));
}

/** Our time as §5.2.3's BADTIME Other Data: 48-bit seconds. */
export function serverTime(nowSeconds: number): Buffer {
  const b = Buffer.alloc(6);
  writeUint48(b, 0, nowSeconds);
  return b;
}

function requestMac(frame: Buffer, tsig: TsigRecord, key: TsigKey): Buffer {
  // §4.3.3: the message as it was before the TSIG was added: original ID, ARCOUNT one less.
  const message = Buffer.from(frame.subarray(0, tsig.start));
  message.writeUInt16BE(tsig.originalId, 0);
  message.writeUInt16BE(message.readUInt16BE(10) - 1, 10);
  const hmac = createHmac('sha256', key.secret);
  hmac.update(message);
  hmac.update(variables(tsig.keyName, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other));
  return hmac.digest();
}

/** §4.3.3 TSIG variables: key name, class, TTL, algorithm name, time, fudge, error, other. Names canonical (lower case, uncompressed). */
function variables(keyName: string, time: number, fudge: number, error: number, other: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(CLASS_ANY, 0); // TTL 0 follows
  const tail = Buffer.alloc(12);
  writeUint48(tail, 0, time);
  tail.writeUInt16BE(fudge, 6);
  tail.writeUInt16BE(error, 8);
  tail.writeUInt16BE(other.length, 10);
  return Buffer.concat([nameToWire(keyName), head, nameToWire(TSIG_ALGORITHM), tail, other]);
}

function timers(time: number, fudge: number): Buffer {
  const b = Buffer.alloc(8);
  writeUint48(b, 0, time);
  b.writeUInt16BE(fudge, 6);
  return b;
}

function appendTsig(message: Buffer, keyName: string, time: number, fudge: number, mac: Buffer, error: number, other: Buffer): Buffer {
  const algorithm = nameToWire(TSIG_ALGORITHM);
  const rdata = Buffer.alloc(algorithm.length + 10 + mac.length + 6 + other.length);
  let at = algorithm.copy(rdata, 0);
  writeUint48(rdata, at, time);
  rdata.writeUInt16BE(fudge, at + 6);
  rdata.writeUInt16BE(mac.length, at + 8);
  at += 10 + mac.copy(rdata, at + 10);
  rdata.writeUInt16BE(message.readUInt16BE(0), at); // original ID
  rdata.writeUInt16BE(error, at + 2);
  rdata.writeUInt16BE(other.length, at + 4);
  other.copy(rdata, at + 6);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2); // TTL 0
  fixed.writeUInt16BE(rdata.length, 8);
  const out = Buffer.concat([message, nameToWire(keyName), fixed, rdata]);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return out;
}

/**
 * The TSIG record of a message, if it has one: the last additional record (§5.1; a TSIG anywhere
 * else is FORMERR). Bounds-checked walk over the sections; never throws.
 */
function findTsig(frame: Buffer): TsigRecord | 'none' | 'malformed' {
  if (frame.length < 12) return 'none';
  const counts = [frame.readUInt16BE(4), frame.readUInt16BE(6) + frame.readUInt16BE(8) + frame.readUInt16BE(10)] as const;
  if (frame.readUInt16BE(10) === 0) return 'none';
  let at = 12;
  for (let i = 0; i < counts[0]; i++) {
    const end = skipName(frame, at);
    if (end < 0 || end + 4 > frame.length) return 'none';
    at = end + 4;
  }
  for (let i = 0; i < counts[1]; i++) {
    const start = at;
    const nameEnd = skipName(frame, at);
    if (nameEnd < 0 || nameEnd + 10 > frame.length) return 'none';
    const type = frame.readUInt16BE(nameEnd);
    const rdlength = frame.readUInt16BE(nameEnd + 8);
    const rdata = nameEnd + 10;
    if (rdata + rdlength > frame.length) return 'none';
    at = rdata + rdlength;
    if (type !== TYPE_TSIG) continue;
    if (i !== counts[1] - 1 || at !== frame.length) return 'malformed';
    return parseTsig(frame, start, rdata, rdlength);
  }
  return 'none';
}

function parseTsig(frame: Buffer, start: number, rdata: number, rdlength: number): TsigRecord | 'malformed' {
  const keyName = readName(frame, start);
  const algEnd = skipName(frame, rdata);
  const algorithm = readName(frame, rdata);
  if (keyName === undefined || algorithm === undefined || algEnd < 0) return 'malformed';
  const end = rdata + rdlength;
  if (algEnd + 10 > end) return 'malformed';
  const macSize = frame.readUInt16BE(algEnd + 8);
  const afterMac = algEnd + 10 + macSize;
  if (afterMac + 6 > end) return 'malformed';
  const otherLength = frame.readUInt16BE(afterMac + 4);
  if (afterMac + 6 + otherLength !== end) return 'malformed';
  return {
    keyName,
    algorithm,
    timeSigned: frame.readUIntBE(algEnd, 6),
    fudge: frame.readUInt16BE(algEnd + 6),
    mac: frame.subarray(algEnd + 10, afterMac),
    originalId: frame.readUInt16BE(afterMac),
    error: frame.readUInt16BE(afterMac + 2),
    other: frame.subarray(afterMac + 6, end),
    start,
  };
}

/** The offset after a (possibly compressed) name, or -1. */
function skipName(frame: Buffer, at: number): number {
  for (let i = at; i < frame.length; ) {
    const len = frame[i]!;
    if (len === 0) return i + 1;
    if ((len & 0xc0) === 0xc0) return i + 2 <= frame.length ? i + 2 : -1;
    if (len > 63) return -1;
    i += len + 1;
  }
  return -1;
}

/**
 * A name in lower-case presentation form without the final dot, following compression pointers
 * (at most 128 jumps). Key and algorithm names are host-name-like; bytes outside that are escaped so
 * an odd key name can never equal a configured one by accident.
 */
function readName(frame: Buffer, at: number): string | undefined {
  const labels: string[] = [];
  for (let i = at, jumps = 0; i < frame.length && jumps < 128; ) {
    const len = frame[i]!;
    if (len === 0) return labels.join('.');
    if ((len & 0xc0) === 0xc0) {
      if (i + 1 >= frame.length) return undefined;
      i = ((len & 0x3f) << 8) | frame[i + 1]!;
      jumps++;
      continue;
    }
    if (len > 63 || i + 1 + len > frame.length) return undefined;
    labels.push(escapeLabel(frame.subarray(i + 1, i + 1 + len)));
    i += len + 1;
  }
  return undefined;
}

function escapeLabel(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    const c = b >= 0x41 && b <= 0x5a ? b + 32 : b; // canonical: lower case (RFC 4034 §6.2)
    s += (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  }
  return s;
}

/** Canonical wire form of a key or algorithm name (lower case, uncompressed). Key names are validated host-name-like. */
function nameToWire(name: string): Buffer {
  const labels = name === '' ? [] : name.toLowerCase().split('.');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function writeUint48(b: Buffer, at: number, value: number): void {
  b.writeUIntBE(value, at, 6);
}
