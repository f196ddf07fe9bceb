/**
 * Zone transfer out: AXFR (RFC 5936) and IXFR answered with the whole zone (RFC 1995 §4), over TCP
 * only, to clients in the `allowTransfer` ACL (default: nobody, REFUSED). This is how BIND, Knot or
 * NSD serve our zones as secondaries (ARCHITECTURE "Scaling past one machine").
 *
 * A transfer is a stream of messages (RFC 5936 §2.2): the zone's SOA, every other record of the zone
 * (glue and delegation NS included), the SOA again. Each message repeats the question and stays under
 * 64 KiB. No TSIG: the ACL is the only access control, so keep it to the secondaries' addresses.
 */
import { AddressAcl } from './acl.js';
import type { ClientInfo } from './client.js';
import { nameKey } from './name.js';
import { replyTo } from './response.js';
import { RCODE, type Message, type ResourceRecord } from './types.js';
import { encodeMessage } from './wire.js';
import type { Zone, ZoneSet } from './zone/store.js';

/** Records per message to try first; halved while a message would not fit in 65535 bytes. */
const RECORDS_PER_MESSAGE = 500;
const MAX_MESSAGE = 0xffff;

/** RFC 1982 serial arithmetic: is `a` newer than `b`? */
export function serialNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export class ZoneTransfer {
  private readonly acl: AddressAcl;

  constructor(
    private readonly zones: () => ZoneSet,
    allowTransfer: readonly string[],
    private readonly udpSize: number,
  ) {
    this.acl = new AddressAcl(allowTransfer);
  }

  /** The encoded messages answering an AXFR or IXFR query (one message when refused or up to date). */
  answer(query: Message, client: ClientInfo): Buffer[] {
    const q = query.questions[0]!;
    if (!this.acl.allows(client.address)) return [encodeMessage(replyTo(query, RCODE.REFUSED, this.udpSize))];
    const zone = this.zones().find(nameKey(q.name));
    // RFC 5936 §2.2.1: a transfer is for a zone we are authoritative for, named by its apex.
    if (!zone || zone.apex !== nameKey(q.name)) return [encodeMessage(replyTo(query, RCODE.NOTAUTH, this.udpSize))];
    const soa = zone.soa.records[0]!;
    if (q.type === 'IXFR' && !this.ixfrNeedsData(query, soa)) return [this.message(query, [soa])];
    return this.split(query, [soa, ...recordsBesideSoa(zone), soa]);
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
      while (bytes.length > MAX_MESSAGE && count > 1) {
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
