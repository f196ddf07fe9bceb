/**
 * One zone as a name tree flattened into columns (table.ts; key = lowercased name): every owner name,
 * every empty non-terminal between it and the apex, and the delegation cuts. A lookup walks at most the
 * labels of the query name, with one map probe per label (never a scan of the zone).
 *
 * Nodes, RRsets and records are objects only when a query reaches them: the zone itself holds numbers
 * and record values (97 MB of heap for 1M A records, ~100 bytes a record, instead of 537; table.ts).
 * A node's objects are kept while in use (a small LRU), so one answer sees each record once
 * (authority.ts de-duplicates the additional section by identity); the apex and nodes with a
 * round-robin RRset keep theirs for the zone's life, since rotation counters are keyed by the RRset
 * object (rotation.ts).
 */
import { LRUCache } from 'lru-cache';
import type { RecordType, ResourceRecord } from '../types.js';
import { parentKey } from '../name.js';
import { runSteps } from './steps.js';
import { CUT, END, nodeName, recordData, ZoneTableBuilder, type ZoneTable } from './table.js';

/** Records of one owner and type, with one TTL (RFC 2181 §5.2: the first record's TTL wins). */
export interface RRset {
  name: string;
  key: string;
  type: RecordType;
  ttl: number;
  records: ResourceRecord[];
}

/** A name in the tree. An empty `rrsets` map is an empty non-terminal (RFC 4592 §2.2.2). */
export interface ZoneNode {
  name: string;
  key: string;
  rrsets: Map<RecordType, RRset>;
}

export type LookupResult =
  /** The name exists (possibly as an empty non-terminal). */
  | { kind: 'exact'; node: ZoneNode }
  /** RFC 4592 §3.3.1: synthesised from the wildcard `*.<closest encloser>`. */
  | { kind: 'wildcard'; node: ZoneNode }
  /** The name is at or below a delegation: answer with a referral (RFC 1034 §4.3.2 step 3b). */
  | { kind: 'delegation'; cut: ZoneNode }
  | { kind: 'nxdomain' };

/** Materialised nodes kept per zone: far more than one answer touches (a CNAME chain of 8 plus additionals). */
const MATERIALISED_NODES = 1024;

export class Zone {
  readonly apex: string;
  readonly soa: RRset;
  private readonly recent = new LRUCache<number, ZoneNode>({ max: MATERIALISED_NODES });
  private readonly pinned = new Map<number, ZoneNode>();

  /** Serves a finished table (validate.ts has checked the SOA, CNAMEs, glue and sizes). */
  constructor(private readonly table: ZoneTable) {
    this.apex = table.apex;
    const apexId = table.index.get(table.apex);
    const apexNode = apexId === undefined ? undefined : this.materialise(apexId);
    const soa = apexNode?.rrsets.get('SOA');
    if (!soa) throw new Error(`zone ${table.apex} built without an SOA (validateZone must run first)`);
    this.soa = soa;
    // The apex is in every negative answer: kept, and its SOA is the very object answers carry.
    this.pinned.set(apexId!, apexNode!);
    for (const id of table.rotatingNodes) this.pinned.set(id, this.materialise(id));
  }

  /** Builds a zone from records (tests and small zones; the catalog streams through ZoneTableBuilder). */
  static build(apex: string, records: readonly ResourceRecord[]): Zone {
    const builder = new ZoneTableBuilder(apex);
    for (const record of records) builder.add(record, '', 0);
    return new Zone(runSteps(builder.finish()));
  }

  /** The node of an exact name, for additional-section addresses and glue (no wildcard, ignores cuts). */
  node(key: string): ZoneNode | undefined {
    const id = this.table.index.get(key);
    return id === undefined ? undefined : this.nodeById(id);
  }

  /** RFC 1034 §4.3.2 step 3 for a name at or below the apex. */
  lookup(key: string): LookupResult {
    // One upward walk finds the closest encloser and the highest cut above the name.
    const { index, nodeFlags } = this.table;
    let closest: number | undefined;
    let cut: number | undefined;
    let k: string | undefined = key;
    while (k !== undefined && k !== this.apex) {
      const id = index.get(k);
      if (id !== undefined) {
        closest ??= id;
        if ((nodeFlags[id]! & CUT) !== 0) cut = id;
      }
      k = parentKey(k);
    }
    if (cut !== undefined) return { kind: 'delegation', cut: this.nodeById(cut) };
    closest ??= index.get(this.apex)!;
    if (this.table.nodeKey[closest] === key) return { kind: 'exact', node: this.nodeById(closest) };
    const closestKey = this.table.nodeKey[closest]!;
    const wildcard = index.get(closestKey === '' ? '*' : `*.${closestKey}`);
    if (wildcard !== undefined) return { kind: 'wildcard', node: this.nodeById(wildcard) };
    return { kind: 'nxdomain' };
  }

  /** All RRsets, for zone transfers, tests and statistics (built one node at a time, not kept: a transfer must not flush the LRU). */
  *rrsets(): Iterable<RRset> {
    for (let id = 0; id < this.table.nodeKey.length; id++) {
      if (this.table.nodeFirstSet[id] !== END) yield* (this.pinned.get(id) ?? this.recent.peek(id) ?? this.materialise(id)).rrsets.values();
    }
  }

  /** Number of names (owners and empty non-terminals). */
  get names(): number {
    return this.table.nodeKey.length;
  }

  private nodeById(id: number): ZoneNode {
    return this.pinned.get(id) ?? this.recent.get(id) ?? this.remember(id);
  }

  private remember(id: number): ZoneNode {
    const node = this.materialise(id);
    this.recent.set(id, node);
    return node;
  }

  private materialise(id: number): ZoneNode {
    const t = this.table;
    const name = nodeName(t, id);
    const key = t.nodeKey[id]!;
    const rrsets = new Map<RecordType, RRset>();
    for (let set = t.nodeFirstSet[id]!; set !== END; set = t.setNext[set]!) {
      const type = t.setType[set]!;
      const ttl = t.setTtl[set]!;
      const records: ResourceRecord[] = [];
      for (let r = t.setFirstRecord[set]!; r !== END; r = t.recordNext[r]!) {
        records.push({ name, type, class: 'IN', ttl, data: recordData(type, t.recordData[r]!) } as ResourceRecord);
      }
      rrsets.set(type, { name, key, type, ttl, records });
    }
    return { name, key, rrsets };
  }
}

/** The zones we serve, found by walking the query name's suffixes (closest enclosing zone first). */
export class ZoneSet {
  constructor(private readonly zones: ReadonlyMap<string, Zone>) {}

  find(key: string): Zone | undefined {
    let k: string | undefined = key;
    while (k !== undefined) {
      const zone = this.zones.get(k);
      if (zone) return zone;
      k = parentKey(k);
    }
    return undefined;
  }

  get size(): number {
    return this.zones.size;
  }

  apexes(): string[] {
    return [...this.zones.keys()];
  }

  all(): Iterable<Zone> {
    return this.zones.values();
  }
}
