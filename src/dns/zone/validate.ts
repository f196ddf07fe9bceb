/**
 * Zone rules checked once at load (RFC 1034 §4.2.1, RFC 1034 §3.6.2, RFC 1035 §5.2): one SOA at the
 * apex, NS at the apex, nothing outside the zone, no other data beside a CNAME, glue for every
 * name server that lies inside the delegated part of the zone, and every RRset small enough to be sent
 * (size.ts). Each error names the record's file and line.
 */
import { ConfigError } from '../../errors.js';
import { isAtOrBelow, nameKey } from '../name.js';
import type { ParsedRecord } from './parse.js';
import { answerMessageLength, isWildcardOwner, MAX_MESSAGE_LENGTH, MAX_RDATA_LENGTH, rdataLength, worstQuestionLength } from './size.js';

export function validateZone(apex: string, zoneFile: string, records: readonly ParsedRecord[]): ConfigError[] {
  const errors: ConfigError[] = [];
  const fail = (r: ParsedRecord | undefined, reason: string): void => {
    errors.push(new ConfigError(r ? { file: r.file, line: r.line } : { file: zoneFile }, reason));
  };
  const byName = new Map<string, ParsedRecord[]>();
  for (const r of records) {
    const key = nameKey(r.record.name);
    if (!isAtOrBelow(key, apex)) {
      fail(r, `"${r.record.name}" is outside the zone ${apex || '.'}`);
      continue;
    }
    let list = byName.get(key);
    if (!list) byName.set(key, (list = []));
    list.push(r);
  }

  const apexRecords = byName.get(apex) ?? [];
  const soas = apexRecords.filter((r) => r.record.type === 'SOA');
  if (soas.length === 0) fail(undefined, `no SOA record at the apex ${apex || '.'}`);
  for (const extra of soas.slice(1)) fail(extra, 'a second SOA record at the apex (a zone has exactly one)');
  if (!apexRecords.some((r) => r.record.type === 'NS')) fail(soas[0], `no NS records at the apex ${apex || '.'}`);

  const cuts: string[] = [];
  for (const [key, list] of byName) {
    if (key !== apex) {
      for (const r of list) if (r.record.type === 'SOA') fail(r, `SOA record below the apex at "${r.record.name}"`);
      if (list.some((r) => r.record.type === 'NS')) cuts.push(key);
    }
    const cname = list.filter((r) => r.record.type === 'CNAME');
    if (cname.length > 1) fail(cname[1], `"${cname[0]!.record.name}" has more than one CNAME`);
    if (cname.length > 0 && list.length > cname.length) {
      const other = list.find((r) => r.record.type !== 'CNAME')!;
      fail(other, `"${other.record.name}" has a CNAME and other data (RFC 1034 §3.6.2)`);
    }
    checkSizes(list, fail);
  }

  // RFC 1034 §4.2.1: a name server inside the delegated subtree is only reachable through glue.
  for (const cut of cuts) {
    for (const r of byName.get(cut)!) {
      if (r.record.type !== 'NS') continue;
      const target = nameKey(r.record.data);
      if (!isAtOrBelow(target, cut)) continue;
      const glue = byName.get(target) ?? [];
      if (!glue.some((g) => g.record.type === 'A' || g.record.type === 'AAAA')) {
        fail(r, `name server "${r.record.data}" is below the cut "${r.record.name}" but has no glue A/AAAA record`);
      }
    }
  }
  return errors;
}

/**
 * RFC 1035 §3.2.1 / §4.2.2: each record's RDATA fits in 65535 bytes, and each RRset fits in one message
 * with the header and the question (the smallest answer for it). Anything larger would make the encoder
 * throw on the first query, so the zone is refused here, naming the record that crosses the limit.
 */
function checkSizes(list: readonly ParsedRecord[], fail: (r: ParsedRecord, reason: string) => void): void {
  const byType = new Map<string, { records: ParsedRecord[]; lengths: number[] }>();
  for (const r of list) {
    const rdlength = rdataLength(r.record);
    if (rdlength > MAX_RDATA_LENGTH) {
      fail(r, `${r.record.type} record data is ${rdlength} bytes; RDATA holds at most ${MAX_RDATA_LENGTH} (RFC 1035 §3.2.1)`);
      continue;
    }
    let set = byType.get(r.record.type);
    if (!set) byType.set(r.record.type, (set = { records: [], lengths: [] }));
    set.records.push(r);
    set.lengths.push(rdlength);
  }
  for (const set of byType.values()) {
    const first = set.records[0]!.record;
    const question = worstQuestionLength(first.name);
    if (answerMessageLength(question, set.lengths) <= MAX_MESSAGE_LENGTH) continue;
    // Over the limit: count each record once, as the zone will hold it (RFC 2181 §5: duplicates are dropped).
    const seen = new Set<string>();
    const lengths: number[] = [];
    for (let i = 0; i < set.records.length; i++) {
      const r = set.records[i]!;
      const dataKey = JSON.stringify(r.record.data);
      if (seen.has(dataKey)) continue;
      seen.add(dataKey);
      lengths.push(set.lengths[i]!);
      const size = answerMessageLength(question, lengths);
      if (size > MAX_MESSAGE_LENGTH) {
        const wildcard = isWildcardOwner(first.name) ? ' (a wildcard: any name up to 255 bytes may be asked)' : '';
        fail(r, `the ${first.type} RRset of "${first.name}" needs ${size} bytes in a DNS message${wildcard}, more than the ${MAX_MESSAGE_LENGTH} a message can hold (RFC 1035 §4.2.2); it cannot be sent`);
        break;
      }
    }
  }
}
