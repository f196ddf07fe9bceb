/**
 * The only module that touches the dns-packet codec: decode and encode between wire bytes and
 * our typed `Message` (encoding compresses names, see compress.ts), plus TCP length framing
 * (RFC 1035 §4.2.2).
 *
 * Names: dns-packet reads labels as UTF-8 and joins them with '.', so a label holding a dot or bytes
 * that are not UTF-8 comes back as a different name (and, re-encoded, as different bytes: the reply
 * then no longer matches its own length fields). Every record codec in dns-packet reads and writes
 * names through its one exported `name` object, so we give that object our binary-safe codec
 * (name-codec.ts) once, here. That keeps dns-packet for the ~40 RDATA layouts, and makes every name
 * in every section (question, owners, NS/CNAME/SOA/MX/SRV/PTR targets, upstream replies) a byte
 * string in the escaped presentation form. The alternative, reading and writing every record
 * ourselves, would mean owning all those layouts for one field type.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, OptAnswer, Packet, PacketOpt, Question as PacketQuestion } from 'dns-packet';
import { compressMessage } from './compress.js';
import { nameWireLength, readName, writeName } from './name-codec.js';
import type { ClientSubnet, Edns, HeaderFlags, Message, Opcode, Question, ResourceRecord } from './types.js';

export const HEADER_LENGTH = 12;
const OPCODES: readonly Opcode[] = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE_3', 'NOTIFY', 'UPDATE'];

/** The shape of dns-packet's `name` object (not in @types/dns-packet): each call leaves its byte count in `.bytes`. */
interface PacketNameCodec {
  encode: ((name: string, buf?: Buffer, offset?: number) => Buffer) & { bytes: number };
  decode: ((buf: Buffer, offset?: number) => string) & { bytes: number };
  encodingLength: (name: string) => number;
}

function installNameCodec(target: PacketNameCodec): void {
  // dns-packet passes an options argument ({ mail: true } for SOA rname); the escaped form already
  // keeps a dot inside a label apart from a separator, so there is nothing left for it to do.
  const encode = Object.assign(
    (name: string, buf?: Buffer, offset = 0): Buffer => {
      const out = buf ?? Buffer.alloc(nameWireLength(name));
      encode.bytes = writeName(name, out, offset);
      return out;
    },
    { bytes: 0 },
  );
  const decode = Object.assign(
    (buf: Buffer, offset = 0): string => {
      const read = readName(buf, offset);
      decode.bytes = read.length;
      return read.name;
    },
    { bytes: 0 },
  );
  target.encode = encode;
  target.decode = decode;
  target.encodingLength = nameWireLength;
}

installNameCodec((dnsPacket as unknown as { name: PacketNameCodec }).name);

/** What a datagram or frame turned out to be. A packet we cannot read never throws out of here. */
export type DecodeResult =
  | { kind: 'message'; message: Message }
  /** The 12-byte header was readable but the rest was not: answer FORMERR with this id (RFC 1035 §4.1.1). */
  | { kind: 'malformed'; id: number; opcode: Opcode; rd: boolean; qr: boolean; reason: string }
  /** Not even a header: drop silently. */
  | { kind: 'drop'; reason: string };

export function opcodeName(n: number): Opcode {
  return OPCODES[n] ?? `OPCODE_${n}`;
}

/** The 4-bit number of an opcode name: unknown opcodes keep theirs, so a reply echoes it (as Knot and BIND do). */
function opcodeNumber(opcode: Opcode): number {
  const known = OPCODES.indexOf(opcode);
  return known >= 0 ? known : Number(opcode.slice('OPCODE_'.length)) & 0xf;
}

function readFlags(word: number): HeaderFlags {
  return {
    qr: (word & 0x8000) !== 0,
    aa: (word & 0x0400) !== 0,
    tc: (word & 0x0200) !== 0,
    rd: (word & 0x0100) !== 0,
    ra: (word & 0x0080) !== 0,
    ad: (word & 0x0020) !== 0,
    cd: (word & 0x0010) !== 0,
  };
}

/**
 * RFC 7871 §6 / §7.1.1: a client subnet option is malformed (FORMERR) when the family is unknown, the
 * source prefix is longer than the address, the address is not exactly ceil(prefix/8) bytes, or bits
 * past the prefix are set. Returns the reason when malformed.
 */
function toClientSubnet(opt: PacketOpt): ClientSubnet | string {
  const data = opt.data ?? Buffer.alloc(0);
  if (data.length < 4) return 'client subnet option shorter than 4 bytes';
  const family = data.readUInt16BE(0);
  const source = data[2]!;
  const scope = data[3]!;
  if (family !== 1 && family !== 2) return `client subnet family ${family} is not IPv4 (1) or IPv6 (2)`;
  const bits = family === 1 ? 32 : 128;
  if (source > bits || scope > bits) return `client subnet prefix longer than ${bits} bits`;
  const address = data.subarray(4);
  if (address.length !== Math.ceil(source / 8)) return 'client subnet address length does not match its source prefix';
  if (source % 8 !== 0 && address.length > 0 && (address[address.length - 1]! & (0xff >> source % 8)) !== 0) {
    return 'client subnet address has bits set past its source prefix';
  }
  const full = Buffer.alloc(bits / 8);
  address.copy(full);
  const text = family === 1 ? [...full].join('.') : (full.toString('hex').match(/.{4}/g) ?? []).join(':');
  return { family, sourcePrefixLength: source, scopePrefixLength: scope, address: family === 1 ? text : compressIPv6(text) };
}

/** '2001:0db8:0000:...' -> '2001:db8::' (RFC 5952 form, as net.isIPv6 and dns-packet accept). */
function compressIPv6(full: string): string {
  const groups = full.split(':').map((g) => g.replace(/^0+(?=.)/, ''));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function toEdns(opt: OptAnswer): Edns | string {
  const edns: Edns = {
    udpPayloadSize: opt.udpPayloadSize,
    version: opt.ednsVersion,
    dnssecOk: opt.flag_do,
    otherOptions: [],
  };
  for (const o of opt.options ?? []) {
    if (o.code === 8) {
      const subnet = toClientSubnet(o);
      if (typeof subnet === 'string') return subnet;
      if (edns.clientSubnet) return 'more than one client subnet option';
      edns.clientSubnet = subnet;
    } else edns.otherOptions.push({ code: o.code, data: o.data ?? Buffer.alloc(0) });
  }
  return edns;
}

function toQuestion(q: PacketQuestion): Question {
  return { name: q.name, type: q.type, class: q.class ?? 'IN' };
}

/** RFC 1035 §4.1.2-3: the smallest question is 5 bytes (root name, type, class), the smallest record 11 (no RDATA). */
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 11;

/**
 * True when the message is long enough for the records its header counts. dns-packet allocates its
 * section arrays from the counts before reading a byte: a 29-byte query claiming 65535 of each cost
 * 4-7 ms of CPU (issue 10 item 5 measured 7 ms; QueryPipeline.handle in a loop here, 4.0-4.6 ms).
 * Refused by this check it costs 0.2-0.5 µs: four reads and an addition before the FORMERR header.
 */
function countsFit(buf: Buffer): boolean {
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  return buf.readUInt16BE(4) * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= buf.length - HEADER_LENGTH;
}

/** Decodes a whole message. Malformed input yields 'malformed' (header readable) or 'drop'. */
export function decodeMessage(buf: Buffer): DecodeResult {
  if (buf.length < HEADER_LENGTH) return { kind: 'drop', reason: 'shorter than a DNS header' };
  const id = buf.readUInt16BE(0);
  const word = buf.readUInt16BE(2);
  const malformed = (reason: string): DecodeResult => ({
    kind: 'malformed',
    id,
    opcode: opcodeName((word >> 11) & 0xf),
    rd: (word & 0x0100) !== 0,
    qr: (word & 0x8000) !== 0,
    reason,
  });
  if (!countsFit(buf)) return malformed('section counts need more bytes than the message holds');
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (err) {
    return malformed(err instanceof Error ? err.message : String(err));
  }
  const message: Message = {
    id,
    opcode: opcodeName((word >> 11) & 0xf),
    rcode: word & 0xf,
    flags: readFlags(word),
    questions: (packet.questions ?? []).map(toQuestion),
    answers: [],
    authorities: (packet.authorities ?? []) as ResourceRecord[],
    additionals: [],
  };
  for (const rr of packet.answers ?? []) if (rr.type !== 'OPT') message.answers.push(rr);
  let optCount = 0;
  for (const rr of packet.additionals ?? []) {
    if (rr.type === 'OPT') {
      optCount++;
      const edns = toEdns(rr);
      if (typeof edns === 'string') return malformed(edns);
      message.edns = edns;
      message.rcode |= rr.extendedRcode << 4;
    } else message.additionals.push(rr);
  }
  // RFC 6891 §6.1.1: more than one OPT makes the message malformed.
  if (optCount > 1) return malformed('more than one OPT record');
  return { kind: 'message', message };
}

function flagsWord(m: Message): number {
  const f = m.flags;
  let w = (opcodeNumber(m.opcode) << 11) | (m.rcode & 0xf);
  if (f.aa) w |= 0x0400;
  if (f.tc) w |= 0x0200;
  if (f.rd) w |= 0x0100;
  if (f.ra) w |= 0x0080;
  if (f.ad) w |= 0x0020;
  if (f.cd) w |= 0x0010;
  return w;
}

function optRecord(edns: Edns, rcode: number): OptAnswer {
  const options: PacketOpt[] = [];
  if (edns.clientSubnet) {
    options.push({
      code: 8,
      family: edns.clientSubnet.family,
      sourcePrefixLength: edns.clientSubnet.sourcePrefixLength,
      scopePrefixLength: edns.clientSubnet.scopePrefixLength,
      ip: edns.clientSubnet.address,
    });
  }
  for (const o of edns.otherOptions) options.push({ code: o.code, data: o.data } as PacketOpt);
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: edns.udpPayloadSize,
    extendedRcode: rcode >> 4,
    ednsVersion: edns.version,
    flags: edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
    flag_do: edns.dnssecOk,
    options,
  };
}

function toPacket(m: Message): Packet {
  const additionals: Answer[] = [...m.additionals];
  if (m.edns) additionals.push(optRecord(m.edns, m.rcode));
  return {
    type: m.flags.qr ? 'response' : 'query',
    id: m.id,
    flags: flagsWord(m),
    questions: m.questions,
    answers: m.answers,
    authorities: m.authorities,
    additionals,
  };
}

/**
 * Encodes a message with names compressed (RFC 1035 §4.1.4; dns-packet itself writes every name in
 * full). Throws only on records our own code built wrongly (a bug, caught at the server boundary).
 */
export function encodeMessage(m: Message): Buffer {
  return compressMessage(dnsPacket.encode(toPacket(m)));
}

/** Prefixes a message with its 2-byte length for TCP (RFC 1035 §4.2.2). */
export function frameForTcp(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
