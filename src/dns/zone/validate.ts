/**
 * Zone rules checked once at load (RFC 1034 §4.2.1, RFC 1034 §3.6.2, RFC 1035 §5.2): one SOA at the
 * apex, NS at the apex, nothing outside the zone, no other data beside a CNAME, glue for every
 * name server that lies inside the delegated part of the zone, and every record and RRset small enough
 * to be sent (size.ts). Each error names the record's file and line.
 *
 * The rules read the zone's columns (table.ts) as the loader built them, so a large zone is checked
 * without a second copy of its records; the check yields like the rest of the load (steps.ts).
 */
import { ConfigError } from '../../errors.js';
import { isAtOrBelow, nameKey } from '../name.js';
import type { RecordType } from '../types.js';
import type { ParsedRecord } from './parse.js';
import { isWildcardOwner, MAX_MESSAGE_LENGTH } from './size.js';
import { runSteps, type Steps } from './steps.js';
import { CUT, END, nodeName, ZoneTableBuilder, type ZoneTable } from './table.js';

/** Checks parsed records (tests and callers that hold the records; the catalog uses `checkZone`). */
export function validateZone(apex: string, zoneFile: string, records: readonly ParsedRecord[]): ConfigError[] {
  const builder = new ZoneTableBuilder(apex);
  for (const r of records) builder.add(r.record, r.file, r.line);
  return runSteps(checkZone(zoneFile, builder, runSteps(builder.finish())));
}

export function* checkZone(zoneFile: string, builder: ZoneTableBuilder, table: ZoneTable): Steps<ConfigError[]> {
  const errors: ConfigError[] = [];
  const fail = (record: number | undefined, reason: string): void => {
    errors.push(new ConfigError(record === undefined ? { file: zoneFile } : builder.position(record), reason));
  };
  for (const r of builder.rejected) errors.push(new ConfigError({ file: r.file, line: r.line }, r.reason));

  const apex = table.apex;
  const apexId = table.index.get(apex);
  const soa = apexId === undefined ? END : setOf(table, apexId, 'SOA');
  if (soa === END) fail(undefined, `no SOA record at the apex ${apex || '.'}`);
  else for (let r = table.recordNext[table.setFirstRecord[soa]!]!; r !== END; r = table.recordNext[r]!) fail(r, 'a second SOA record at the apex (a zone has exactly one)');
  if (apexId === undefined || setOf(table, apexId, 'NS') === END) fail(soa === END ? undefined : table.setFirstRecord[soa], `no NS records at the apex ${apex || '.'}`);

  for (let id = 0; id < table.nodeKey.length; id++) {
    const name = nodeName(table, id);
    let cname = END;
    let other = END;
    for (let set = table.nodeFirstSet[id]!; set !== END; set = table.setNext[set]!) {
      const type = table.setType[set]!;
      if (type === 'SOA' && id !== apexId) {
        for (let r = table.setFirstRecord[set]!; r !== END; r = table.recordNext[r]!) fail(r, `SOA record below the apex at "${name}"`);
      }
      if (type === 'CNAME') cname = set;
      else if (other === END) other = set;
      const overflow = builder.overflow(set);
      if (overflow !== END) {
        const wildcard = isWildcardOwner(name) ? ' (a wildcard: a name of up to 255 bytes may be asked)' : '';
        fail(overflow, `the ${type} RRset of "${name}" needs ${builder.answerLength(set)} bytes in a DNS message${wildcard}, more than the ${MAX_MESSAGE_LENGTH} a message can hold (RFC 1035 §4.2.2); it cannot be sent`);
      }
    }
    if (cname !== END && table.setCount[cname]! > 1) fail(table.recordNext[table.setFirstRecord[cname]!], `"${name}" has more than one CNAME`);
    if (cname !== END && other !== END) fail(table.setFirstRecord[other], `"${name}" has a CNAME and other data (RFC 1034 §3.6.2)`);
    yield;
  }

  // RFC 1034 §4.2.1: a name server inside the delegated subtree is only reachable through glue.
  for (let id = 0; id < table.nodeKey.length; id++) {
    if ((table.nodeFlags[id]! & CUT) === 0) continue;
    const cut = table.nodeKey[id]!;
    const ns = setOf(table, id, 'NS');
    for (let r = table.setFirstRecord[ns]!; r !== END; r = table.recordNext[r]!) {
      const server = table.recordData[r] as string;
      const target = nameKey(server);
      if (!isAtOrBelow(target, cut)) continue;
      const glue = table.index.get(target);
      if (glue === undefined || (setOf(table, glue, 'A') === END && setOf(table, glue, 'AAAA') === END)) {
        fail(r, `name server "${server}" is below the cut "${nodeName(table, id)}" but has no glue A/AAAA record`);
      }
    }
    yield;
  }
  return errors;
}

/** The set of `type` at node `id`, or END. */
function setOf(table: ZoneTable, id: number, type: RecordType): number {
  for (let set = table.nodeFirstSet[id]!; set !== END; set = table.setNext[set]!) if (table.setType[set] === type) return set;
  return END;
}
