/**
 * DNS message types used above the wire layer. Record data reuses the DefinitelyTyped unions of
 * dns-packet (narrowed on `type`), but only `wire.ts` imports the dns-packet codec itself.
 */
import type { Answer, OptAnswer, RecordClass, RecordType } from 'dns-packet';

export type { RecordClass, RecordType };

/** A resource record with typed data, narrowed on `type` (OPT is not a resource record here: see `Edns`). */
export type ResourceRecord = Exclude<Answer, OptAnswer>;

export interface Question {
  /** The name as the client sent it (case preserved, no trailing dot). */
  name: string;
  type: RecordType;
  class: RecordClass;
}

/** RFC 7871 EDNS Client Subnet. */
export interface ClientSubnet {
  /** 1 = IPv4, 2 = IPv6 (IANA address family numbers). */
  family: 1 | 2;
  sourcePrefixLength: number;
  scopePrefixLength: number;
  /** The address, with bits past the source prefix zero. */
  address: string;
}

/** An EDNS option we do not interpret, kept as code + raw bytes. */
export interface RawEdnsOption {
  code: number;
  data: Buffer;
}

/** EDNS(0) as carried in the OPT pseudo-record (RFC 6891). */
export interface Edns {
  udpPayloadSize: number;
  version: number;
  dnssecOk: boolean;
  clientSubnet?: ClientSubnet;
  otherOptions: RawEdnsOption[];
}

/** Opcodes by name (RFC 1035 §4.1.1, RFC 1996, RFC 2136); any other 4-bit value as `OPCODE_<n>`, kept so replies echo it. */
export type Opcode = 'QUERY' | 'IQUERY' | 'STATUS' | 'NOTIFY' | 'UPDATE' | `OPCODE_${number}`;

export interface HeaderFlags {
  qr: boolean;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
}

/** A decoded DNS message, query or response. `rcode` is the full (extended) response code number. */
export interface Message {
  id: number;
  opcode: Opcode;
  rcode: number;
  flags: HeaderFlags;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  edns?: Edns;
}

/** RFC 1035 §4.1.1 / RFC 6891 §9 response codes by number. */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
  BADVERS: 16,
} as const;
