/**
 * The JSON a distribution node answers, read back by the processes that call it: the origin's remote publisher,
 * `dnscdn push|purge|status`, and a link reading a peer's replica report. The other side is another process on
 * another host, so its answer is checked field by field here rather than cast: a wrong shape becomes an error
 * that names the field, not an `undefined` that surfaces later as "cannot read properties".
 */
import type { DistributionStatus, PeerStatus } from './distributor.js';
import { isNat, isRecord } from './json-shape.js';

/** One journaled operation as push and purge report it. */
export interface OpSummary {
  seq: number;
  kind: string;
  what: string;
}

/** An answer whose shape is not what the protocol says. */
export class AnswerShapeError extends Error {
  constructor(what: string, field: string, expected: string) {
    super(`bad ${what}: ${field} is not ${expected}`);
    this.name = 'AnswerShapeError';
  }
}


/** Reads fields of one JSON object, naming the answer and the field in every error. */
class Fields {
  constructor(
    private readonly what: string,
    private readonly path: string,
    private readonly o: Record<string, unknown>,
  ) {}

  static of(what: string, path: string, v: unknown): Fields {
    if (!isRecord(v)) throw new AnswerShapeError(what, path || 'the answer', 'an object');
    return new Fields(what, path, v);
  }

  private fail(key: string, expected: string): never {
    throw new AnswerShapeError(this.what, this.path ? `${this.path}.${key}` : key, expected);
  }

  nat(key: string): number {
    const v = this.o[key];
    return isNat(v) ? v : this.fail(key, 'a whole number >= 0');
  }

  natOrNull(key: string): number | null {
    return this.o[key] === null ? null : this.nat(key);
  }

  optionalNat(key: string): number | undefined {
    return this.o[key] === undefined ? undefined : this.nat(key);
  }

  numberOrNull(key: string): number | null {
    const v = this.o[key];
    return v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : this.fail(key, 'a number or null');
  }

  string(key: string): string {
    const v = this.o[key];
    return typeof v === 'string' ? v : this.fail(key, 'a string');
  }

  optionalString(key: string): string | undefined {
    return this.o[key] === undefined ? undefined : this.string(key);
  }

  boolean(key: string): boolean {
    const v = this.o[key];
    return typeof v === 'boolean' ? v : this.fail(key, 'true or false');
  }

  object(key: string): Fields {
    return Fields.of(this.what, this.path ? `${this.path}.${key}` : key, this.o[key]);
  }

  /** An array (absent counts as empty when `optional`), each item read by `item`. */
  list<T>(key: string, item: (f: Fields) => T, optional = false): T[] {
    const v = this.o[key];
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) return this.fail(key, 'a list');
    const at = this.path ? `${this.path}.${key}` : key;
    return v.map((x, i) => item(Fields.of(this.what, `${at}[${i}]`, x)));
  }
}

const skippedObject = (f: Fields): { path: string; length: number } => ({ path: f.string('path'), length: f.nat('length') });

/** `POST /.dnscdn/publish` (and the origin's push/purge): `{ ops: [{ seq, kind, what }] }`. */
export function parseOpSummaries(v: unknown): OpSummary[] {
  return Fields.of('publish answer', '', v).list('ops', (f) => ({ seq: f.nat('seq'), kind: f.string('kind'), what: f.string('what') }));
}

/** `GET /.dnscdn/status`. */
export function parseDistributionStatus(v: unknown): DistributionStatus {
  const what = 'status answer';
  const top = Fields.of(what, '', v);
  const j = top.object('journal');
  const journal: DistributionStatus['journal'] = { lastSeq: j.nat('lastSeq'), snapshotSeq: j.nat('snapshotSeq'), objects: j.nat('objects') };
  const highWaterSeq = j.optionalNat('highWaterSeq');
  if (highWaterSeq !== undefined) journal.highWaterSeq = highWaterSeq;
  const edges = top.list('edges', (f): PeerStatus => {
    const peer: PeerStatus = {
      name: f.string('name'),
      url: f.string('url'),
      reachable: f.boolean('reachable'),
      lastSeq: f.natOrNull('lastSeq'),
      lagOps: f.natOrNull('lagOps'),
      lagSeconds: f.numberOrNull('lagSeconds'),
      skipped: f.list('skipped', skippedObject, true),
    };
    const aheadBy = f.optionalNat('aheadBy');
    if (aheadBy !== undefined) peer.aheadBy = aheadBy;
    const error = f.optionalString('error');
    if (error !== undefined) peer.error = error;
    return peer;
  });
  return { journal, edges };
}

/** Objects a replica did not store (larger than its max object size), from its report; absent = none. */
export function parseSkipped(v: unknown): Array<{ path: string; length: number }> {
  return Fields.of('replica report', '', v).list('skipped', skippedObject, true);
}
