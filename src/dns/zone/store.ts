/**
 * One zone as a name tree flattened into a map (key = lowercased name): every owner name, every empty
 * non-terminal between it and the apex, and the set of delegation cuts. A lookup walks at most the
 * labels of the query name, with one map probe per label (never a scan of the zone).
 */
import type { RecordType, ResourceRecord } from '../types.js';
import { isAtOrBelow, nameKey, parentKey } from '../name.js';

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

export class Zone {
  private constructor(
    /** Apex key (lowercase, no trailing dot, '' for the root). */
    readonly apex: string,
    readonly soa: RRset,
    private readonly nodes: Map<string, ZoneNode>,
    private readonly cuts: ReadonlySet<string>,
  ) {}

  /** Builds the tree from validated records (validate.ts has checked the SOA, CNAMEs and glue). */
  static build(apex: string, records: readonly ResourceRecord[]): Zone {
    const nodes = new Map<string, ZoneNode>();
    const cuts = new Set<string>();
    for (const record of records) {
      const key = nameKey(record.name);
      let node = nodes.get(key);
      if (!node) {
        node = { name: record.name, key, rrsets: new Map() };
        nodes.set(key, node);
      }
      let rrset = node.rrsets.get(record.type);
      if (!rrset) {
        rrset = { name: node.name, key, type: record.type, ttl: record.ttl ?? 0, records: [] };
        node.rrsets.set(record.type, rrset);
      }
      const sameData = rrset.records.some((r) => JSON.stringify(r.data) === JSON.stringify(record.data));
      if (!sameData) rrset.records.push({ ...record, name: node.name, ttl: rrset.ttl } as ResourceRecord);
      if (record.type === 'NS' && key !== apex) cuts.add(key);
    }
    // Empty non-terminals: every ancestor between an owner name and the apex exists.
    for (const key of [...nodes.keys()]) {
      let p = parentKey(key);
      while (p !== undefined && p !== apex && isAtOrBelow(p, apex) && !nodes.has(p)) {
        nodes.set(p, { name: p, key: p, rrsets: new Map() });
        p = parentKey(p);
      }
    }
    const soa = nodes.get(apex)?.rrsets.get('SOA');
    if (!soa) throw new Error(`zone ${apex} built without an SOA (validateZone must run first)`);
    return new Zone(apex, soa, nodes, cuts);
  }

  /** The node of an exact name, for additional-section addresses and glue (no wildcard, ignores cuts). */
  node(key: string): ZoneNode | undefined {
    return this.nodes.get(key);
  }

  /** RFC 1034 §4.3.2 step 3 for a name at or below the apex. */
  lookup(key: string): LookupResult {
    // One upward walk finds the closest encloser and the highest cut above the name.
    let closest: ZoneNode | undefined;
    let cut: ZoneNode | undefined;
    let k: string | undefined = key;
    while (k !== undefined && k !== this.apex) {
      if (!closest) closest = this.nodes.get(k);
      if (this.cuts.has(k)) cut = this.nodes.get(k);
      k = parentKey(k);
    }
    if (cut) return { kind: 'delegation', cut };
    closest ??= this.nodes.get(this.apex)!;
    if (closest.key === key) return { kind: 'exact', node: closest };
    const wildcard = this.nodes.get(closest.key === '' ? '*' : `*.${closest.key}`);
    if (wildcard) return { kind: 'wildcard', node: wildcard };
    return { kind: 'nxdomain' };
  }

  /** All RRsets, for tests and zone statistics. */
  *rrsets(): Iterable<RRset> {
    for (const node of this.nodes.values()) yield* node.rrsets.values();
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
