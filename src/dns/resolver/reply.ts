/**
 * Classifies an upstream reply for the iterator (RFC 1034 §5.3.3 step 4, RFC 2308 §2) and keeps only
 * what the answering server may speak for: records at or below the zone we asked it about (its
 * bailiwick). Everything else in the reply, including unsolicited additional records, is dropped here,
 * so nothing out of bailiwick can reach the cache.
 */
import { isAtOrBelow, nameKey } from '../name.js';
import { RCODE, type Message, type Question, type RecordClass, type ResourceRecord } from '../types.js';

export type ReplyClass =
  /** Data for the question, possibly after in-bailiwick CNAMEs; `records` = the chain then the RRset. */
  | { kind: 'answer'; records: ResourceRecord[]; glue?: ResourceRecord[] }
  /** A CNAME chain that leaves the bailiwick (or stops without data): continue with `target`. */
  | { kind: 'cname'; records: ResourceRecord[]; target: string }
  /** Negative answer for `name` (the question name or the end of `records`' CNAME chain). */
  | { kind: 'nxdomain' | 'nodata'; records: ResourceRecord[]; name: string; soa: ResourceRecord | undefined }
  /** A delegation to a zone closer to the question name, with in-bailiwick glue. */
  | { kind: 'referral'; zone: string; nameServers: ResourceRecord[]; glue: ResourceRecord[] }
  /** Not usable: try another server (RFC 1034 §5.3.3 step 4d; "lame" per RFC 1912 §2.8). */
  | { kind: 'lame'; reason: string };

export interface ClassifyContext {
  question: Question;
  /** Key of the zone the server was asked as (its bailiwick); '' for the root. */
  zone: string;
  /** Forwarders answer with RD=1 and without AA; they are trusted for all of `zone`. */
  forwarded: boolean;
}

const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' };

export function classifyReply(reply: Message, ctx: ClassifyContext): ReplyClass {
  if (reply.rcode !== RCODE.NOERROR && reply.rcode !== RCODE.NXDOMAIN) {
    return { kind: 'lame', reason: `rcode ${RCODE_NAMES[reply.rcode] ?? reply.rcode}` };
  }
  const inBailiwick = (rr: ResourceRecord): boolean => isAtOrBelow(nameKey(rr.name), ctx.zone);
  if (!ctx.forwarded && !reply.flags.aa) return classifyNonAuthoritative(reply, ctx, inBailiwick);

  const qclass: RecordClass = ctx.question.class;
  const answers = reply.answers.filter((rr) => inBailiwick(rr) && (rr.class ?? 'IN') === qclass);
  const records: ResourceRecord[] = [];
  const seen = new Set<string>();
  let name = ctx.question.name;
  // Walk the CNAME chain inside the reply; each step consumes a distinct owner name, so this ends.
  for (;;) {
    const key = nameKey(name);
    if (seen.has(key)) return { kind: 'cname', records, target: name }; // a loop: the chain cap upstairs ends it
    seen.add(key);
    const rrset = answers.filter((rr) => rr.type === ctx.question.type && nameKey(rr.name) === key);
    if (rrset.length > 0) {
      // An NS answer (e.g. root priming, RFC 8109 §3) comes with the servers' addresses, kept as glue.
      const glue = ctx.question.type === 'NS' ? glueFor(reply, rrset, inBailiwick) : [];
      return { kind: 'answer', records: [...records, ...rrset], ...(glue.length > 0 ? { glue } : {}) };
    }
    const cname = ctx.question.type === 'CNAME' ? undefined : answers.find((rr) => rr.type === 'CNAME' && nameKey(rr.name) === key);
    if (cname === undefined || cname.type !== 'CNAME') break;
    records.push(cname);
    name = cname.data;
    if (!isAtOrBelow(nameKey(name), ctx.zone)) return { kind: 'cname', records, target: name };
  }

  const soa = negativeSoa(reply, name, ctx.zone);
  if (reply.rcode === RCODE.NXDOMAIN) return { kind: 'nxdomain', records, name, soa };
  // NOERROR without data: NODATA (RFC 2308 §2.2) — unless a chain stopped at a name this reply says
  // nothing about, which we then ask about directly.
  if (records.length > 0 && soa === undefined) return { kind: 'cname', records, target: name };
  return { kind: 'nodata', records, name, soa };
}

/** Without AA a server can only refer us downwards; anything else is lame. */
function classifyNonAuthoritative(reply: Message, ctx: ClassifyContext, inBailiwick: (rr: ResourceRecord) => boolean): ReplyClass {
  if (reply.answers.length > 0) return { kind: 'lame', reason: 'answer without AA' };
  if (reply.rcode !== RCODE.NOERROR) return { kind: 'lame', reason: 'NXDOMAIN without AA' };
  const ns = reply.authorities.filter((rr) => rr.type === 'NS');
  const first = ns[0];
  if (first === undefined) return { kind: 'lame', reason: 'no AA and no referral' };
  const cut = nameKey(first.name);
  const qkey = nameKey(ctx.question.name);
  // RFC 1034 §5.3.3: a referral must move closer to the name: strictly below the zone we asked, and above the name.
  if (cut === ctx.zone || !isAtOrBelow(cut, ctx.zone) || !isAtOrBelow(qkey, cut)) {
    return { kind: 'lame', reason: `referral upward or sideways to "${cut}"` };
  }
  const nameServers = ns.filter((rr) => nameKey(rr.name) === cut);
  return { kind: 'referral', zone: cut, nameServers, glue: glueFor(reply, nameServers, inBailiwick) };
}

/** Glue: addresses of the listed name servers, and only those the answering server is authoritative for. */
function glueFor(reply: Message, nameServers: ResourceRecord[], inBailiwick: (rr: ResourceRecord) => boolean): ResourceRecord[] {
  const targets = new Set(nameServers.flatMap((rr) => (rr.type === 'NS' ? [nameKey(rr.data)] : [])));
  return reply.additionals.filter((rr) => (rr.type === 'A' || rr.type === 'AAAA') && targets.has(nameKey(rr.name)) && inBailiwick(rr));
}

/** The SOA of a negative answer, if it is the SOA of a zone that contains `name` and is in bailiwick. */
function negativeSoa(reply: Message, name: string, zone: string): ResourceRecord | undefined {
  const key = nameKey(name);
  return reply.authorities.find((rr) => {
    if (rr.type !== 'SOA') return false;
    const owner = nameKey(rr.name);
    return isAtOrBelow(owner, zone) && isAtOrBelow(key, owner);
  });
}

/** Splits records into RRsets by (name, type, class), keeping first-seen order. */
export function groupRRsets(records: ResourceRecord[]): ResourceRecord[][] {
  const sets = new Map<string, ResourceRecord[]>();
  for (const rr of records) {
    const key = `${nameKey(rr.name)}|${rr.type}|${rr.class ?? 'IN'}`;
    const set = sets.get(key);
    if (set) set.push(rr);
    else sets.set(key, [rr]);
  }
  return [...sets.values()];
}
