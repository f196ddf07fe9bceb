/**
 * A zone's data in columns: typed arrays of numbers and one array of record values, instead of an
 * object (and a Map) per name, RRset and record. Measured on a 1M-name zone of A records (Node 20,
 * heap after GC): one {name,key,rrsets: Map} node + RRset + record per name took 537 bytes a record;
 * a name -> id Map entry alone takes 86. ZoneTableBuilder fills the columns as records are parsed;
 * store.ts serves from them.
 *
 * Ids are array positions. Sets of a node and records of a set are singly linked lists in file
 * order (first RRset first, RFC 8482 answers ANY with it), with -1 as the end.
 */
import { isAtOrBelow, nameKey, parentKey } from '../name.js';
import type { RecordType, ResourceRecord } from '../types.js';
import { answerMessageLength, answerRecordLength, MAX_MESSAGE_LENGTH, MAX_RDATA_LENGTH, rdataLength, worstQuestionLength } from './size.js';

export const END = -1;
/** Node flag: a delegation point (NS below the apex, RFC 1034 §4.2.1). */
export const CUT = 1;

export type RecordData = ResourceRecord['data'];
/**
 * A record's data as stored: A addresses as one 32-bit integer (a small integer in V8, no allocation),
 * everything else as parsed. The address strings were ~32 bytes each: 32 MB a copy for 1M A records.
 */
export type StoredData = RecordData | number;
/** RRsets up to this many records are scanned for a duplicate; larger ones keep a Set (see `holds`). */
const SCAN_LIMIT = 16;

/** A growable Int32Array: columns grow by doubling, like an array, without an object per element. */
class IntColumn {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }
  push(value: number): number {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length] = value;
    return this.length++;
  }
  /** The filled part, trimmed so that a built zone does not keep the spare capacity. */
  done(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/** The columns a built zone serves from. */
export interface ZoneTable {
  apex: string;
  /** Name key -> node id. Every owner name and every empty non-terminal up to the apex (RFC 4592 §2.2.2). */
  index: Map<string, number>;
  nodeKey: string[];
  /** Owner names written in another case than their key, by node id (name = key for every other node). */
  renamed: Map<number, string>;
  nodeFirstSet: Int32Array;
  nodeFlags: Uint8Array;
  setType: RecordType[];
  /** RFC 2181 §5.2: one TTL per RRset, the first record's. */
  setTtl: Int32Array;
  setFirstRecord: Int32Array;
  setNext: Int32Array;
  setCount: Int32Array;
  recordData: StoredData[];
  recordNext: Int32Array;
  /** Nodes with an A or AAAA set of more than one record (round-robin, rotation.ts). */
  rotatingNodes: Int32Array;
}

/** Where a record was written, and why it was left out (for validate.ts). */
export interface Rejected {
  file: string;
  line: number;
  reason: string;
}

/**
 * Builds a ZoneTable from records in file order: groups them by name and type, drops duplicates
 * (RFC 2181 §5), and keeps each record's file and line for validation messages. Records outside the
 * zone and RDATA that cannot be sent are rejected here (they are never stored).
 */
export class ZoneTableBuilder {
  private readonly index = new Map<string, number>();
  private readonly renamed = new Map<number, string>();
  private readonly nodeKey: string[] = [];
  private readonly nodeFirstSet = new IntColumn();
  private readonly nodeLastSet = new IntColumn();
  private nodeFlags = new Uint8Array(1024);
  private readonly setType: RecordType[] = [];
  private readonly setTtl = new IntColumn();
  private readonly setFirstRecord = new IntColumn();
  private readonly setLastRecord = new IntColumn();
  private readonly setNext = new IntColumn();
  private readonly setCount = new IntColumn();
  /** Bytes of the smallest answer for the set so far (size.ts), and the record that first made it too big. */
  private readonly setAnswerLength = new IntColumn();
  private readonly setOverflow = new IntColumn();
  private readonly recordData: StoredData[] = [];
  private readonly recordNext = new IntColumn();
  private readonly recordLine = new IntColumn();
  private readonly recordFile = new IntColumn();
  private readonly rotating = new IntColumn(16);
  private readonly files: string[] = [];
  /** Text of every record's data, only for sets past SCAN_LIMIT records (see `holds`). */
  private readonly seenData = new Map<number, Set<string>>();
  readonly rejected: Rejected[] = [];

  constructor(readonly apex: string) {}

  add(record: ResourceRecord, file: string, line: number): void {
    const key = nameKey(record.name);
    if (!isAtOrBelow(key, this.apex)) {
      this.rejected.push({ file, line, reason: `"${record.name}" is outside the zone ${this.apex || '.'}` });
      return;
    }
    const rdlength = rdataLength(record);
    if (rdlength > MAX_RDATA_LENGTH) {
      this.rejected.push({ file, line, reason: `${record.type} record data is ${rdlength} bytes; RDATA holds at most ${MAX_RDATA_LENGTH} (RFC 1035 §3.2.1)` });
      return;
    }
    const node = this.node(key, record.name);
    let set = this.nodeFirstSet.data[node]!;
    while (set !== END && this.setType[set] !== record.type) set = this.setNext.data[set]!;
    if (set === END) set = this.newSet(node, record, worstQuestionLength(record.name));
    else if (this.holds(set, record.type === 'A' ? ipv4ToInt(record.data) : record.data)) return;
    const id = this.recordData.length;
    this.recordData.push(record.type === 'A' ? ipv4ToInt(record.data) : record.data);
    this.recordNext.push(END);
    this.recordLine.push(line);
    this.recordFile.push(this.fileId(file));
    const last = this.setLastRecord.data[set]!;
    if (last === END) this.setFirstRecord.data[set] = id;
    else this.recordNext.data[last] = id;
    this.setLastRecord.data[set] = id;
    // RFC 1035 gives no order; we rotate A/AAAA sets (rotation.ts), which needs their node kept as objects.
    if (++this.setCount.data[set]! === 2 && (record.type === 'A' || record.type === 'AAAA')) this.rotating.push(node);
    const answer = (this.setAnswerLength.data[set]! += answerRecordLength(rdlength));
    if (answer > MAX_MESSAGE_LENGTH && this.setOverflow.data[set] === END) this.setOverflow.data[set] = id;
    if (record.type === 'NS' && key !== this.apex) this.nodeFlags[node]! |= CUT;
  }

  /** Where record `id` was written. */
  position(id: number): { file: string; line: number } {
    return { file: this.files[this.recordFile.data[id]!]!, line: this.recordLine.data[id]! };
  }

  /** Bytes of the smallest answer for set `id` (size.ts). */
  answerLength(set: number): number {
    return this.setAnswerLength.data[set]!;
  }

  /** The record that first made set `id` too big for a message, or END. */
  overflow(set: number): number {
    return this.setOverflow.data[set]!;
  }

  /**
   * Adds the empty non-terminals (every name between an owner and the apex exists, RFC 4592 §2.2.2)
   * and returns the finished columns. Yields every few names so that a caller can pause.
   */
  *finish(): Generator<void, ZoneTable, undefined> {
    const owners = this.nodeKey.length;
    for (let id = 0; id < owners; id++) {
      let p = parentKey(this.nodeKey[id]!);
      while (p !== undefined && p !== this.apex && isAtOrBelow(p, this.apex) && !this.index.has(p)) {
        this.node(p, p);
        p = parentKey(p);
      }
      yield;
    }
    return {
      apex: this.apex,
      index: this.index,
      renamed: this.renamed,
      nodeKey: this.nodeKey,
      nodeFirstSet: this.nodeFirstSet.done(),
      nodeFlags: this.nodeFlags.slice(0, this.nodeKey.length),
      setType: this.setType,
      setTtl: this.setTtl.done(),
      setFirstRecord: this.setFirstRecord.done(),
      setNext: this.setNext.done(),
      setCount: this.setCount.done(),
      recordData: this.recordData,
      recordNext: this.recordNext.done(),
      // A node with both an A and an AAAA set of two appears twice: harmless (kept once by id).
      rotatingNodes: this.rotating.done(),
    };
  }

  private node(key: string, name: string): number {
    let id = this.index.get(key);
    if (id !== undefined) return id;
    id = this.nodeKey.length;
    this.index.set(key, id);
    // toLowerCase returns the same string when nothing changes: most names cost one string, not two.
    this.nodeKey.push(key);
    const written = name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name;
    if (written !== key) this.renamed.set(id, written);
    this.nodeFirstSet.push(END);
    this.nodeLastSet.push(END);
    if (id === this.nodeFlags.length) {
      const bigger = new Uint8Array(id * 2);
      bigger.set(this.nodeFlags);
      this.nodeFlags = bigger;
    }
    return id;
  }

  private newSet(node: number, record: ResourceRecord, questionLength: number): number {
    const id = this.setType.length;
    this.setType.push(record.type);
    this.setTtl.push(record.ttl ?? 0);
    this.setFirstRecord.push(END);
    this.setLastRecord.push(END);
    this.setNext.push(END);
    this.setCount.push(0);
    this.setAnswerLength.push(answerMessageLength(questionLength, []));
    this.setOverflow.push(END);
    const last = this.nodeLastSet.data[node]!;
    if (last === END) this.nodeFirstSet.data[node] = id;
    else this.setNext.data[last] = id;
    this.nodeLastSet.data[node] = id;
    return id;
  }

  /**
   * RFC 2181 §5: an RRset holds each record once. Small sets are scanned; from SCAN_LIMIT records on, a
   * set of the data's text form answers, so a set of thousands of records stays linear to build.
   */
  private holds(set: number, data: StoredData): boolean {
    const text = textOf(data);
    const seen = this.seenData.get(set);
    if (seen) return seen.has(text) || (seen.add(text), false);
    if (this.setCount.data[set]! < SCAN_LIMIT) {
      for (let r = this.setFirstRecord.data[set]!; r !== END; r = this.recordNext.data[r]!) {
        if (textOf(this.recordData[r]!) === text) return true;
      }
      return false;
    }
    const all = new Set<string>([text]);
    for (let r = this.setFirstRecord.data[set]!; r !== END; r = this.recordNext.data[r]!) {
      all.add(textOf(this.recordData[r]!));
    }
    this.seenData.set(set, all);
    return all.size === this.setCount.data[set]!;
  }

  private fileId(file: string): number {
    const last = this.files.length - 1;
    if (last >= 0 && this.files[last] === file) return last;
    const known = this.files.indexOf(file);
    if (known >= 0) return known;
    this.files.push(file);
    return this.files.length - 1;
  }
}

/** Comparable text of stored data (strings and numbers as they are; RDATA objects as JSON). */
function textOf(data: StoredData): string {
  return typeof data === 'string' ? data : typeof data === 'number' ? String(data) : JSON.stringify(data);
}

/** The owner name of node `id` as written in the zone file. */
export function nodeName(table: Pick<ZoneTable, 'nodeKey' | 'renamed'>, id: number): string {
  return table.renamed.get(id) ?? table.nodeKey[id]!;
}

/** An A record's data as stored (the parser has checked it is a dotted quad). */
function ipv4ToInt(address: string): number {
  const [a, b, c, d] = address.split('.');
  return ((Number(a) << 24) | (Number(b) << 16) | (Number(c) << 8) | Number(d)) | 0;
}

/** A record's data as the wire layer takes it. */
export function recordData(type: RecordType, stored: StoredData): RecordData {
  if (type !== 'A' || typeof stored !== 'number') return stored as RecordData;
  return `${stored >>> 24}.${(stored >>> 16) & 255}.${(stored >>> 8) & 255}.${stored & 255}`;
}
