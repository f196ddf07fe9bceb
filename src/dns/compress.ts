/**
 * Name compression (RFC 1035 §4.1.4) as a pass over an encoded message. dns-packet writes every name
 * in full; this rewrites the message so that a name, or its tail, that already appeared earlier is
 * replaced by a 2-byte pointer to it. Replies shrink (a referral or a round-robin set by about half),
 * so fewer of them need TC=1 and a TCP retry. Used only by wire.ts.
 *
 * Where pointers may go: owner names and the question, and the names inside the RDATA of the
 * RFC 1035 types NS, CNAME, PTR, MX and SOA. RFC 3597 §4 forbids compressing names inside the RDATA of
 * any other type (a receiver that does not know the type could not follow the pointer), and RFC 2782
 * forbids it for the SRV target: those RDATA are copied unchanged. Only offsets below 0x4000 fit in a
 * pointer. Matching is case-insensitive (ASCII only, RFC 4343), so a pointer may lead to the same name
 * spelt as the client asked it.
 */

const HEADER_LENGTH = 12;
const MAX_POINTER_OFFSET = 0x3fff;

const enum RRType {
  NS = 2,
  CNAME = 5,
  SOA = 6,
  PTR = 12,
  MX = 15,
}

/** RFC 1035 §3.3.13: after its two names, SOA RDATA holds five 32-bit numbers. */
const SOA_NUMBERS_LENGTH = 20;
/** MX RDATA: a 16-bit preference, then the exchange name. */
const MX_PREFERENCE_LENGTH = 2;

class Compressor {
  private r = HEADER_LENGTH;
  private w = HEADER_LENGTH;
  /** Lowercased wire form of a name suffix -> where it was written. */
  private readonly seen = new Map<string, number>();
  readonly out: Buffer;

  constructor(private readonly input: Buffer) {
    // Compression never grows a message, so the uncompressed size is enough. Not from the shared
    // pool: encoded answers are kept by the fast path and must not pin a pool slab.
    this.out = Buffer.allocUnsafeSlow(input.length);
    input.copy(this.out, 0, 0, HEADER_LENGTH);
  }

  get written(): number {
    return this.w;
  }

  copy(length: number): void {
    if (this.r + length > this.input.length) throw new Error('compress: message ends inside a record');
    this.input.copy(this.out, this.w, this.r, this.r + length);
    this.r += length;
    this.w += length;
  }

  readUInt16(): number {
    return this.input.readUInt16BE(this.r);
  }

  get readOffset(): number {
    return this.r;
  }

  /** Copies one uncompressed name, ending it with a pointer to the longest suffix written before. */
  name(): void {
    const input = this.input;
    const start = this.r;
    const labels: number[] = [];
    let i = start;
    for (;;) {
      const len = input[i];
      if (len === undefined) throw new Error('compress: message ends inside a name');
      if (len === 0) break;
      // dns-packet never writes pointers or extended labels; meeting one means a bug upstream.
      if (len > 63) throw new Error('compress: unexpected label type');
      labels.push(i);
      i += len + 1;
    }
    const end = i + 1;
    const lower = asciiLowercase(input, start, end);
    const keys: string[] = [];
    let target: number | undefined;
    let k = 0;
    for (; k < labels.length; k++) {
      const key = lower.toString('latin1', labels[k]! - start, end - start);
      target = this.seen.get(key);
      if (target !== undefined) break;
      keys.push(key);
    }
    for (let j = 0; j < k; j++) {
      if (this.w <= MAX_POINTER_OFFSET) this.seen.set(keys[j]!, this.w);
      const labelEnd = labels[j]! + input[labels[j]!]! + 1;
      input.copy(this.out, this.w, labels[j]!, labelEnd);
      this.w += labelEnd - labels[j]!;
    }
    if (target !== undefined) {
      this.out.writeUInt16BE(0xc000 | target, this.w);
      this.w += 2;
    } else this.out[this.w++] = 0;
    this.r = end;
  }

  /** One resource record: owner, fixed fields, then RDATA with a recomputed length. */
  record(): void {
    this.name();
    const type = this.readUInt16();
    this.copy(8); // type, class, TTL
    const rdLength = this.readUInt16();
    this.r += 2;
    const rdEnd = this.r + rdLength;
    const lengthAt = this.w;
    this.w += 2;
    switch (type) {
      case RRType.NS:
      case RRType.CNAME:
      case RRType.PTR:
        this.name();
        break;
      case RRType.MX:
        this.copy(MX_PREFERENCE_LENGTH);
        this.name();
        break;
      case RRType.SOA:
        this.name();
        this.name();
        this.copy(SOA_NUMBERS_LENGTH);
        break;
      default:
        this.copy(rdLength);
    }
    if (this.r !== rdEnd) throw new Error(`compress: RDATA of type ${type} is not ${rdLength} bytes long`);
    this.out.writeUInt16BE(this.w - lengthAt - 2, lengthAt);
  }
}

/** A copy of `buf[start, end)` with A-Z lowercased (RFC 4343: only ASCII letters fold). */
function asciiLowercase(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    out[i - start] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return out;
}

/**
 * The same message with names compressed. `message` must be an uncompressed encoding (as dns-packet
 * writes it); throws on anything else, which would be a bug in our own encoding.
 */
export function compressMessage(message: Buffer): Buffer {
  if (message.length < HEADER_LENGTH) throw new Error('compress: shorter than a DNS header');
  const c = new Compressor(message);
  const questions = message.readUInt16BE(4);
  const records = message.readUInt16BE(6) + message.readUInt16BE(8) + message.readUInt16BE(10);
  for (let q = 0; q < questions; q++) {
    c.name();
    c.copy(4); // type, class
  }
  for (let n = 0; n < records; n++) c.record();
  if (c.readOffset !== message.length) throw new Error('compress: trailing bytes after the last record');
  return c.out.subarray(0, c.written);
}
