import { appendFile, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Journal } from '../../src/distribution/journal.js';
import type { OperationInput } from '../../src/distribution/operations.js';
import { tempDir } from '../origin/helpers.js';

const put = (path: string, n: number): OperationInput => ({ kind: 'put', path, status: 200, etag: `"${n}"`, headers: { 'surrogate-key': 'k' }, sha256: 'a'.repeat(64), length: n });

describe('journal', () => {
  it('keeps operations and sequence numbers across a reopen (an origin restart)', async () => {
    const file = join(await tempDir('journal'), 'j');
    const j = await Journal.open(file);
    const ops = await j.append([put('/a', 1), put('/b', 2), { kind: 'purge', target: { type: 'url', path: '/a' } }]);
    expect(ops.map((o) => o.seq)).toEqual([1, 2, 3]);
    await j.close();
    const again = await Journal.open(file);
    expect(again.lastSeq).toBe(3);
    expect(again.liveObjects().map((o) => o.path)).toEqual(['/b']);
    expect((await again.append([put('/c', 3)]))[0]!.seq).toBe(4);
    await again.close();
  });

  it('recovers a torn last record up to the last whole record, with a warning', async () => {
    const file = join(await tempDir('journal'), 'j');
    const j = await Journal.open(file);
    await j.append([put('/a', 1)]);
    await j.append([put('/b', 2)]);
    await j.close();
    const whole = (await stat(file)).size;
    await truncate(file, whole - 5); // power cut in the middle of the second record
    const warn = vi.fn();
    const log = { debug: vi.fn(), info: vi.fn(), warn, error: vi.fn() };
    const r = await Journal.open(file, { log });
    expect(r.lastSeq).toBe(1);
    expect(warn).toHaveBeenCalledOnce();
    expect((await r.append([put('/c', 3)]))[0]!.seq).toBe(2);
    await r.close();
    // Garbage appended after whole records is dropped too.
    await appendFile(file, Buffer.from([0, 0, 0, 9, 1, 2, 3]));
    const g = await Journal.open(file, { log });
    expect(g.lastSeq).toBe(2);
    expect(g.liveObjects().map((o) => o.path).sort()).toEqual(['/a', '/c']);
    await g.close();
  });

  it('compacts to a snapshot plus tail; a reader older than the snapshot gets it in pages, then the tail', async () => {
    const file = join(await tempDir('journal'), 'j');
    const j = await Journal.open(file, { compactAfter: 10 });
    for (let i = 0; i < 30; i++) await j.append([put(`/p${i % 3}`, i)]);
    await j.append([{ kind: 'purge', target: { type: 'tag', tag: 'nope' } }]);
    const sizeBefore = (await stat(file)).size;
    expect(j.needsCompaction).toBe(true);
    await j.compact();
    expect((await stat(file)).size).toBeLessThan(sizeBefore);
    expect(j.snapshotSeq).toBe(31);
    await j.append([put('/p9', 99)]);
    const old = j.since(5, 100);
    expect(old.reset).toMatchObject({ seq: 31, from: 0, total: 3 });
    expect(old.reset?.entries.map((e) => e.path).sort()).toEqual(['/p0', '/p1', '/p2']);
    // Pages of the same snapshot fit together whatever is journaled between them.
    const first = j.since(5, 2).reset!;
    await j.append([put('/p0', 100)]);
    const second = j.since(5, 2, { snapshot: 31, from: 2 }).reset!;
    expect([first.from, first.entries.length, second.from, second.entries.length]).toEqual([0, 2, 2, 1]);
    expect([...first.entries, ...second.entries].map((e) => e.path).sort()).toEqual(['/p0', '/p1', '/p2']);
    // A page of a snapshot that has since been replaced starts the transfer over.
    expect(j.since(5, 2, { snapshot: 7, from: 2 }).reset?.from).toBe(0);
    expect(j.since(31, 100).ops.map((o) => o.seq)).toEqual([32, 33]);
    await j.close();
    const again = await Journal.open(file);
    expect(again.lastSeq).toBe(33);
    expect(again.liveObjects()).toHaveLength(4);
    expect(again.since(0, 100).reset?.total).toBe(3);
    expect((await readFile(file)).subarray(0, 8).toString()).toBe('DNSCDNJ1');
    await again.close();
  });
});
