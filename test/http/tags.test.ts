/** One bounded tag parser for the edge's index and the journal's live objects: a tag purge selects the same objects in both. */
import { describe, expect, it } from 'vitest';
import { parsePurgeTarget, purgeMatches, type PutOperation } from '../../src/distribution/operations.js';
import { MAX_TAG_LENGTH, MAX_TAGS_PER_OBJECT, parseTags } from '../../src/http/tags.js';

const put = (headers: Record<string, string>): PutOperation => ({ kind: 'put', seq: 1, time: 0, path: '/a', status: 200, etag: '"a"', headers, sha256: '0'.repeat(64), length: 0 });

describe('purge tags', () => {
  it('reads Surrogate-Key (spaces) and Cache-Tag (commas), without repeats', () => {
    expect(parseTags(' a  b a', 'c, b ,,d')).toEqual(['a', 'b', 'c', 'd']);
    expect(parseTags(undefined, undefined)).toEqual([]);
  });

  it('keeps at most 64 tags per object and drops tags longer than 256 bytes', () => {
    const many = Array.from({ length: 100 }, (_, i) => `t${i}`).join(' ');
    expect(parseTags(many, undefined)).toHaveLength(MAX_TAGS_PER_OBJECT);
    expect(parseTags(`${'x'.repeat(MAX_TAG_LENGTH + 1)} ok`, undefined)).toEqual(['ok']);
  });

  it('a journal purge by tag matches exactly what the edge indexed: not a tag past the bound', () => {
    const headers = { 'surrogate-key': Array.from({ length: 65 }, (_, i) => `t${i}`).join(' ') };
    expect(purgeMatches(parsePurgeTarget({ type: 'tag', tag: 't0' }), put(headers))).toBe(true);
    expect(purgeMatches(parsePurgeTarget({ type: 'tag', tag: 't64' }), put(headers))).toBe(parseTags(headers['surrogate-key'], undefined).includes('t64'));
    expect(purgeMatches(parsePurgeTarget({ type: 'tag', tag: 't64' }), put(headers))).toBe(false);
  });

  it('refuses a purge for a tag that could never have been parsed', () => {
    for (const tag of ['', 'a b', 'a,b', 'x'.repeat(MAX_TAG_LENGTH + 1)]) expect(() => parsePurgeTarget({ type: 'tag', tag })).toThrow(/bad tag/);
  });
});
