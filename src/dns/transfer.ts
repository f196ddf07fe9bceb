/**
 * Zone transfer out: AXFR (RFC 5936) and IXFR answered with the whole zone (RFC 1995 §4), over TCP
 * only, to clients in the `allowTransfer` ACL (default: nobody, REFUSED). This is how BIND, Knot or
 * NSD serve our zones as secondaries (ARCHITECTURE "Scaling past one machine").
 *
 * A transfer is a stream of messages (RFC 5936 §2.2): the zone's SOA, every other record of the zone
 * (glue and delegation NS included), the SOA again. Each message repeats the question and stays under
 * 64 KiB.
 *
 * Access: the ACL first (REFUSED), then TSIG (RFC 8945) when keys are configured: an unsigned request
 * is REFUSED, a bad signature is NOTAUTH with the TSIG error (BADKEY, BADSIG, BADTIME, BADTRUNC, §5.2)
 * and logged; a signed request gets every message of its answer signed, each MAC chaining the previous
 * one (§5.3.1). A signed request with no keys configured is BADKEY: we cannot sign the answer.
 */
import { logger } from '../log.js';
import { AddressAcl } from './acl.js';
import type { ClientInfo } from './client.js';
import { nameKey } from './name.js';
import { replyTo } from './response.js';
import { RCODE, type Message, type ResourceRecord } from './types.js';
import { serverTime, TSIG_ERROR, unsignedTsigError, verifyRequest, type TsigKey, type TsigSigner } from './tsig.js';
import { encodeMessage } from './wire.js';
import type { Zone, ZoneSet } from './zone/store.js';

/** Records per message to try first; halved while a message would not fit in 65535 bytes. */
const RECORDS_PER_MESSAGE = 500;
const MAX_MESSAGE = 0xffff;
/** Room kept in each message for the TSIG record (key name up to 255, algorithm name, 32-byte MAC, fixed fields). */
const TSIG_ROOM = 255 + 13 + 10 + 16 + 32;

const log = logger('dns.transfer');

export interface TransferAccess {
  /** Keys a transfer must be signed with; empty = no TSIG required. */
  tsigKeys?: readonly TsigKey[];
  /** Seconds since the epoch (injected in tests). */
  now?: () => number;
}

/** RFC 1982 serial arithmetic: is `a` newer than `b`? */
export function serialNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export class ZoneTransfer {
  private readonly acl: AddressAcl;
  private readonly tsigKeys: readonly TsigKey[];
  private readonly now: () => number;

  constructor(
    private readonly zones: () => ZoneSet,
    allowTransfer: readonly string[],
    private readonly udpSize: number,
    access: TransferAccess = {},
  ) {
    this.acl = new AddressAcl(allowTransfer);
    this.tsigKeys = access.tsigKeys ?? [];
    this.now = access.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /**
   * The encoded messages answering an AXFR or IXFR query (one message when refused or up to date).
   * `frame` is the query's wire bytes, which the TSIG MAC covers.
   */
  answer(query: Message, client: ClientInfo, frame: Buffer): Buffer[] {
    if (!this.acl.allows(client.address)) return [this.refusal(query, RCODE.REFUSED)];
    const now = this.now();
    const verdict = verifyRequest(frame, this.tsigKeys, now);
    if (verdict.kind === 'unsigned' && this.tsigKeys.length > 0) {
      log.warn('transfer refused: not signed with a TSIG key', { client: client.address, zone: query.questions[0]!.name });
      return [this.refusal(query, RCODE.REFUSED)];
    }
    if (verdict.kind === 'invalid') {
      log.warn('transfer refused: bad TSIG', { client: client.address, zone: query.questions[0]!.name, key: verdict.keyName, error: verdict.error, reason: verdict.reason });
      const reply = this.refusal(query, verdict.rcode);
      if (verdict.error === 'FORMERR') return [reply];
      if (verdict.signer) return [verdict.signer.sign(reply, now, TSIG_ERROR[verdict.error], serverTime(now))];
      return [unsignedTsigError(reply, verdict.keyName, now, TSIG_ERROR[verdict.error])];
    }
    const messages = this.messages(query);
    if (verdict.kind !== 'valid') return messages;
    const signer: TsigSigner = verdict.signer;
    return messages.map((m) => signer.sign(m, now));
  }

  private messages(query: Message): Buffer[] {
    const q = query.questions[0]!;
    const zone = this.zones().find(nameKey(q.name));
    // RFC 5936 §2.2.1: a transfer is for a zone we are authoritative for, named by its apex.
    if (!zone || zone.apex !== nameKey(q.name)) return [this.refusal(query, RCODE.NOTAUTH)];
    const soa = zone.soa.records[0]!;
    if (q.type === 'IXFR' && !this.ixfrNeedsData(query, soa)) return [this.message(query, [soa])];
    return this.split(query, [soa, ...recordsBesideSoa(zone), soa]);
  }

  /** An answer without records; never carries the request's TSIG (replyTo copies only EDNS). */
  private refusal(query: Message, rcode: number): Buffer {
    return encodeMessage(replyTo(query, rcode, this.udpSize));
  }

  /** RFC 1995 §2: the client's SOA (authority section) tells its version; if ours is not newer, our SOA alone answers. */
  private ixfrNeedsData(query: Message, soa: ResourceRecord): boolean {
    const theirs = query.authorities.find((r) => r.type === 'SOA');
    if (theirs?.type !== 'SOA' || soa.type !== 'SOA') return true;
    return serialNewer(soa.data.serial ?? 0, theirs.data.serial ?? 0);
  }

  private message(query: Message, records: ResourceRecord[]): Buffer {
    const reply = replyTo(query, RCODE.NOERROR, this.udpSize);
    reply.flags.aa = true;
    reply.answers = records;
    return encodeMessage(reply);
  }

  /** Packs records into as few messages as fit in 64 KiB each. */
  private split(query: Message, records: ResourceRecord[]): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    while (at < records.length) {
      let count = Math.min(RECORDS_PER_MESSAGE, records.length - at);
      let bytes = this.message(query, records.slice(at, at + count));
      while (bytes.length > MAX_MESSAGE - TSIG_ROOM && count > 1) {
        count = Math.ceil(count / 2);
        bytes = this.message(query, records.slice(at, at + count));
      }
      out.push(bytes);
      at += count;
    }
    return out;
  }
}

function* recordsBesideSoa(zone: Zone): Iterable<ResourceRecord> {
  for (const rrset of zone.rrsets()) {
    if (rrset.type === 'SOA' && rrset.key === zone.apex) continue;
    yield* rrset.records;
  }
}
