import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { BlobStore } from '../../src/distribution/blobs.js';
import { DiskWriteError } from '../../src/distribution/durable-file.js';
import { readHighWater } from '../../src/distribution/high-water.js';
import { Journal } from '../../src/distribution/journal.js';
import type { OperationInput } from '../../src/distribution/operations.js';
import { tempDir } from '../origin/helpers.js';
import { FaultyDisk } from './faulty-disk.js';

const put = (path: string, n: number): OperationInput => ({ kind: 'put', path, status: 200, etag: `"${n}"`, headers: {}, sha256: 'c'.repeat(64), length: n });
const quiet = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };

async function journalOn(disk: FaultyDisk): Promise<{ file: string; j: Journal }> {
  const file = join(await tempDir('disk-full'), 'journal');
  return { file, j: await Journal.open(file, { highWater: true, disk, log: quiet }) };
}

/** A failed append must leave everything as it was: file length, last sequence, live objects, high-water mark. */
async function expectUnchanged(file: string, j: Journal, size: number, lastSeq: number): Promise<void> {
  expect((await stat(file)).size).toBe(size);
  expect(j.lastSeq).toBe(lastSeq);
  expect(await readHighWater(`${file}.seq`)).toBe(lastSeq);
}

describe('journal appends on a failing disk (issue 10 item 4)', () => {
  it('a full disk part-way through a record rejects the append, cuts the partial record off, and reuses its number next time', async () => {
    const disk = new FaultyDisk();
    const { file, j } = await journalOn(disk);
    await j.append([put('/a', 1), put('/b', 2)]);
    const size = (await stat(file)).size;
    disk.spaceLeft = 30; // the next record is longer than this: 30 bytes land, then ENOSPC
    const err = await j.append([put('/c', 3)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskWriteError);
    expect((err as DiskWriteError).full).toBe(true);
    expect((err as DiskWriteError).httpStatus).toBe(507);
    await expectUnchanged(file, j, size, 2);
    expect(j.liveObjects().map((o) => o.path)).toEqual(['/a', '/b']);
    expect(j.since(2, 10).ops).toEqual([]);
    disk.heal();
    expect((await j.append([put('/d', 4)]))[0]!.seq).toBe(3);
    await j.close();
    const again = await Journal.open(file, { highWater: true, log: quiet });
    expect(again.since(0, 10).ops.map((o) => [o.seq, o.kind === 'put' ? o.path : ''])).toEqual([
      [1, '/a'],
      [2, '/b'],
      [3, '/d'],
    ]);
    await again.close();
  });

  it('short writes that make progress are continued until the record is whole', async () => {
    const disk = new FaultyDisk();
    disk.halfWrites = true;
    const { file, j } = await journalOn(disk);
    await j.append([put('/a', 1), put('/b', 2), put('/c', 3)]);
    expect(disk.writeCalls).toBeGreaterThan(3);
    await j.close();
    const again = await Journal.open(file, { highWater: true, log: quiet });
    expect(again.lastSeq).toBe(3);
    await again.close();
  });

  it('a write that makes no progress fails as a short write instead of being acknowledged or retried forever', async () => {
    const disk = new FaultyDisk();
    const { file, j } = await journalOn(disk);
    await j.append([put('/a', 1)]);
    const size = (await stat(file)).size;
    disk.stuck = true;
    await expect(j.append([put('/b', 2)])).rejects.toMatchObject({ code: 'SHORT_WRITE' });
    await expectUnchanged(file, j, size, 1);
    await j.close();
  });

  it('a failed fdatasync rejects the append and the record is cut back, though write() succeeded', async () => {
    const disk = new FaultyDisk();
    const { file, j } = await journalOn(disk);
    await j.append([put('/a', 1)]);
    const size = (await stat(file)).size;
    disk.failSync = true;
    await expect(j.append([put('/b', 2)])).rejects.toMatchObject({ code: 'EIO' });
    expect(j.lastSeq).toBe(1);
    disk.heal();
    // The cut is retried before the next append once syncing works again.
    expect((await j.append([put('/c', 3)]))[0]!.seq).toBe(2);
    expect((await stat(file)).size).toBeGreaterThan(size);
    await j.close();
    const again = await Journal.open(file, { highWater: true, log: quiet });
    expect(again.liveObjects().map((o) => o.path).sort()).toEqual(['/a', '/c']);
    await again.close();
  });

  it('a replica journal (appendReplicated) has the same discipline', async () => {
    const disk = new FaultyDisk();
    const file = join(await tempDir('disk-full'), 'replica.journal');
    const j = await Journal.open(file, { disk, log: quiet });
    await j.appendReplicated([{ ...put('/a', 1), seq: 1, time: 1 } as never]);
    const size = (await stat(file)).size;
    disk.spaceLeft = 10;
    await expect(j.appendReplicated([{ ...put('/b', 2), seq: 2, time: 2 } as never])).rejects.toBeInstanceOf(DiskWriteError);
    expect([(await stat(file)).size, j.lastSeq]).toEqual([size, 1]);
    await j.close();
  });
});

describe('blob store on a failing disk', () => {
  const body = Buffer.alloc(4096, 7);
  const digest = createHash('sha256').update(body).digest('hex');

  it('a full disk fails the put, leaves no file under the digest and no temp file', async () => {
    const disk = new FaultyDisk();
    const dir = join(await tempDir('blobs-full'), 'blobs');
    const blobs = await BlobStore.open(dir, disk);
    disk.spaceLeft = 1000;
    await expect(blobs.putAll([{ sha256: digest, body }])).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readdir(dir)).toEqual([]);
    expect(await blobs.get(digest)).toBeUndefined();
    disk.heal();
    disk.halfWrites = true;
    await blobs.put(digest, body);
    expect(await readFile(join(dir, digest))).toEqual(body);
  });

  it('a failed fdatasync fails the put too', async () => {
    const disk = new FaultyDisk();
    const dir = join(await tempDir('blobs-full'), 'blobs');
    const blobs = await BlobStore.open(dir, disk);
    disk.failSync = true;
    await expect(blobs.put(digest, body)).rejects.toMatchObject({ code: 'EIO' });
    expect(await readdir(dir)).toEqual([]);
  });
});
