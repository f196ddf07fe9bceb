import { createHash } from 'node:crypto';
import { readFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { encodeHighWater, readHighWater } from '../../src/distribution/high-water.js';
import { Journal, JournalDamageError } from '../../src/distribution/journal.js';
import { scanJournal } from '../../src/distribution/journal-format.js';
import { repairJournal, verifyJournal } from '../../src/distribution/journal-repair.js';
import type { OperationInput } from '../../src/distribution/operations.js';
import { tempDir } from '../origin/helpers.js';

const put = (path: string, n: number): OperationInput => ({ kind: 'put', path, status: 200, etag: `"${n}"`, headers: {}, sha256: 'b'.repeat(64), length: n });
const quiet = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** An origin journal (with its high-water mark) holding seqs 1..n, one object per 10 paths. */
async function originJournal(n: number): Promise<string> {
  const file = join(await tempDir('journal-damage'), 'journal');
  const j = await Journal.open(file, { highWater: true, log: quiet });
  for (let done = 0; done < n; done += 20) await j.append(Array.from({ length: Math.min(20, n - done) }, (_, i) => put(`/p${(done + i) % 10}`, done + i + 1)));
  await j.close();
  return file;
}

/** Byte range of the record holding `seq`. */
async function recordOf(file: string, seq: number): Promise<{ offset: number; end: number }> {
  const r = scanJournal(await readFile(file)).records.find((x) => x.record.seq === seq);
  if (!r) throw new Error(`no record for seq ${seq}`);
  return r;
}

async function flipByte(file: string, at: number): Promise<void> {
  const buf = await readFile(file);
  buf[at] = buf[at]! ^ 0x20;
  await writeFile(file, buf);
}

describe('journal damage (issue 10 item 3): only an unacknowledged torn tail is cut', () => {
  it('a flipped byte in the middle (seq 490 of 980) refuses to open, names file, offset and sequence, and leaves the file untouched', async () => {
    const file = await originJournal(980);
    const rec = await recordOf(file, 490);
    await flipByte(file, (rec.offset + rec.end) >> 1);
    const before = await sha(file);
    const err = await Journal.open(file, { highWater: true, log: quiet }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JournalDamageError);
    const message = (err as Error).message;
    expect(message).toContain(file);
    expect(message).toContain(`byte ${rec.offset}`);
    expect(message).toContain('seq 490 unreadable');
    expect(message).toContain(`good records follow at byte ${rec.end} (seq 491)`);
    expect(message).toContain('dnscdn journal repair');
    expect(await sha(file)).toBe(before);
  });

  it('a bad length field in the middle is damage too, not a tail to cut', async () => {
    const file = await originJournal(100);
    const rec = await recordOf(file, 40);
    const buf = await readFile(file);
    buf.writeUInt32BE(0x7fffffff, rec.offset); // "length runs past the end of the file"
    await writeFile(file, buf);
    await expect(Journal.open(file, { highWater: true, log: quiet })).rejects.toThrow(/byte \d+.*seq 40 unreadable; good records follow .*\(seq 41\)/);
    expect((await stat(file)).size).toBe(buf.length);
  });

  it('a record missing whole (sequence numbers jump) is damage', async () => {
    const file = await originJournal(60);
    const rec = await recordOf(file, 30);
    const buf = await readFile(file);
    await writeFile(file, Buffer.concat([buf.subarray(0, rec.offset), buf.subarray(rec.end)]));
    await expect(Journal.open(file, { highWater: true, log: quiet })).rejects.toThrow(/seq 30 unreadable/);
  });

  it('a complete final record with a bad checksum: damage when acknowledged (high-water mark), cut when not', async () => {
    const file = await originJournal(30);
    const last = await recordOf(file, 30);
    await flipByte(file, last.end - 3);
    await expect(Journal.open(file, { highWater: true, log: quiet })).rejects.toThrow(/readable records end at seq 29 .*but seq 30 had been acknowledged/);
    // The same bytes after a crash between the journal's fsync and the mark's: seq 30 was never acknowledged.
    await writeFile(`${file}.seq`, encodeHighWater(29));
    const warn = vi.fn();
    const j = await Journal.open(file, { highWater: true, log: { ...quiet, warn } });
    expect(j.lastSeq).toBe(29);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('torn'), expect.objectContaining({ offset: last.offset }));
    expect((await j.append([put('/new', 1)]))[0]!.seq).toBe(30);
    await j.close();
    expect(await readHighWater(`${file}.seq`)).toBe(30);
  });

  it('a journal cut short below its high-water mark (restored from an old copy) refuses to open', async () => {
    const file = await originJournal(50);
    await truncate(file, (await recordOf(file, 45)).offset);
    await expect(Journal.open(file, { highWater: true, log: quiet })).rejects.toThrow(/end at seq 44 .*seqs 45-50 had been acknowledged/);
  });

  it('a replica journal (no high-water mark) still cuts any bad end: its upstream resends it', async () => {
    const file = join(await tempDir('journal-damage'), 'replica.journal');
    const j = await Journal.open(file, { log: quiet });
    await j.append([put('/a', 1), put('/b', 2), put('/c', 3)]);
    await j.close();
    await flipByte(file, (await recordOf(file, 3)).end - 2);
    const r = await Journal.open(file, { log: quiet });
    expect(r.lastSeq).toBe(2);
    await r.close();
  });
});

describe('dnscdn journal verify / repair', () => {
  it('verify reports the damage; repair keeps the good records, moves the file aside, and never reissues a sequence', async () => {
    const file = await originJournal(980);
    const rec = await recordOf(file, 490);
    await flipByte(file, (rec.offset + rec.end) >> 1);
    const damaged = await readFile(file);
    const report = await verifyJournal(file);
    expect(report.ok).toBe(false);
    expect(report.damage.map((d) => [d.offset, d.firstSeq, d.lastSeq])).toEqual([[rec.offset, 490, 490]]);
    expect(report.highWater).toBe(980);

    const r = await repairJournal(file, { now: new Date('2026-11-27T17:00:00Z') });
    expect(r.lost).toEqual([{ firstSeq: 490, lastSeq: 490 }]);
    expect(r.lastSeq).toBe(980);
    expect(await readFile(r.backup!)).toEqual(damaged);
    expect((await readdir(join(file, '..'))).sort()).toEqual(['journal', 'journal.damaged-2026-11-27T17-00-00-000Z', 'journal.seq']);
    expect((await verifyJournal(file)).ok).toBe(true);

    const j = await Journal.open(file, { highWater: true, log: quiet });
    expect(j.lastSeq).toBe(980);
    expect(j.liveObjects().map((o) => o.path).sort()).toEqual(['/p0', '/p1', '/p2', '/p3', '/p4', '/p5', '/p6', '/p7', '/p8', '/p9']);
    expect((await j.append([put('/after', 1)]))[0]!.seq).toBe(981);
    // A reader that had applied up to 300 gets the rebuilt state as a snapshot, then what follows.
    expect(j.since(300, 100).reset?.seq).toBe(980);
    expect(j.since(980, 100).ops.map((o) => o.seq)).toEqual([981]);
    await j.close();
  });

  it('repair continues above the high-water mark when acknowledged records are gone from the end', async () => {
    const file = await originJournal(50);
    await truncate(file, (await recordOf(file, 45)).offset + 5);
    expect((await verifyJournal(file)).missingAcknowledged).toEqual({ firstSeq: 45, lastSeq: 50 });
    const r = await repairJournal(file);
    expect(r.lastSeq).toBe(50);
    const j = await Journal.open(file, { highWater: true, log: quiet });
    expect((await j.append([put('/x', 1)]))[0]!.seq).toBe(51);
    await j.close();
  });

  it('a journal file deleted beside its high-water mark refuses to start afresh at seq 1; repair continues above the mark', async () => {
    const file = await originJournal(12);
    await unlink(file);
    await expect(Journal.open(file, { highWater: true, log: quiet })).rejects.toThrow(/end at seq 0 .*seqs 1-12 had been acknowledged/);
    const r = await repairJournal(file);
    expect([r.repaired, r.backup, r.lastSeq]).toEqual([true, undefined, 12]);
    const j = await Journal.open(file, { highWater: true, log: quiet });
    expect((await j.append([put('/x', 1)]))[0]!.seq).toBe(13);
    await j.close();
  });

  it('a damaged high-water mark refuses to open; verify reports it and repair rewrites it', async () => {
    const file = await originJournal(8);
    await writeFile(`${file}.seq`, 'garbage');
    await expect(Journal.open(file, { highWater: true, log: quiet })).rejects.toThrow(/journal\.seq: damaged high-water mark .*journal repair/);
    expect((await verifyJournal(file)).ok).toBe(false);
    expect((await repairJournal(file)).lastSeq).toBe(8);
    expect(await readHighWater(`${file}.seq`)).toBe(8);
  });

  it('repair with --min-seq continues above a sequence an edge reported (journal restored without its mark)', async () => {
    const file = await originJournal(20);
    const r = await repairJournal(file, { minSeq: 35 });
    expect(r.lastSeq).toBe(35);
    const j = await Journal.open(file, { highWater: true, log: quiet });
    expect((await j.append([put('/x', 1)]))[0]!.seq).toBe(36);
    await j.close();
  });

  it('a replica repair keeps the records before the damage and drops the rest (upstream resends them)', async () => {
    const file = join(await tempDir('journal-damage'), 'replica.journal');
    const j = await Journal.open(file, { log: quiet });
    for (let i = 0; i < 10; i++) await j.append([put(`/r${i}`, i)]);
    await j.close();
    await flipByte(file, (await recordOf(file, 6)).offset + 12);
    await expect(Journal.open(file, { log: quiet })).rejects.toThrow(JournalDamageError);
    const r = await repairJournal(file);
    expect(r.lastSeq).toBe(5);
    const again = await Journal.open(file, { log: quiet });
    expect(again.lastSeq).toBe(5);
    await again.close();
  });
});
