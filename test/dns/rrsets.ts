/**
 * One way to compare records in every DNS test (after CoreDNS plugin/test/helpers.go): records are
 * rendered to presentation-like strings, sorted, and compared; `ignoreTtl` drops the TTL.
 */
import { expect } from 'vitest';
import type { ResourceRecord } from '../../src/dns/types.js';

export function renderRecord(r: ResourceRecord, ignoreTtl = false): string {
  const data = Array.isArray(r.data)
    ? r.data.map((d) => (Buffer.isBuffer(d) ? d.toString('latin1') : String(d))).join(' | ')
    : Buffer.isBuffer(r.data)
      ? r.data.toString('hex')
      : typeof r.data === 'object'
        ? JSON.stringify(r.data, Object.keys(r.data).sort())
        : String(r.data);
  return `${r.name.toLowerCase()} ${ignoreTtl ? '' : `${r.ttl ?? ''} `}${r.type} ${data}`;
}

export function sortedRecords(records: readonly ResourceRecord[], ignoreTtl = false): string[] {
  return records.map((r) => renderRecord(r, ignoreTtl)).sort();
}

/** Expects two record lists to hold the same RRsets, in any order. Expected records may be written as strings. */
export function expectRRsets(actual: readonly ResourceRecord[], expected: ReadonlyArray<ResourceRecord | string>, options: { ignoreTtl?: boolean } = {}): void {
  const ignoreTtl = options.ignoreTtl ?? false;
  const want = expected.map((e) => (typeof e === 'string' ? e : renderRecord(e, ignoreTtl))).sort();
  expect(sortedRecords(actual, ignoreTtl)).toEqual(want);
}
