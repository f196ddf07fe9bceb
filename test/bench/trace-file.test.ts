import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextUseIndex, traceTotals } from '../../bench/trace.js';
import { parseTraceLine, readTraceFile } from '../../bench/trace-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnscdn-trace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseTraceLine', () => {
  it.each([
    ['1,/a,10', { key: '/a', size: 10 }],
    ['1.5,/a?x=1,2,3', { key: '/a?x=1,2', size: 3 }],
    [' 7 , k ,  1 ', { key: ' k ', size: 1 }],
  ])('reads %j', (line, expected) => {
    expect(parseTraceLine(line)).toEqual(expected);
  });

  it.each([
    ['1,/a', 'expected'],
    ['x,/a,1', 'timestamp'],
    ['1,,5', 'empty key'],
    ['1,/a,0', 'size'],
    ['1,/a,-3', 'size'],
    ['1,/a,1.5', 'size'],
  ])('rejects %j', (line, reason) => {
    const parsed = parseTraceLine(line);
    expect('error' in parsed && parsed.error).toContain(reason);
  });
});

describe('readTraceFile', () => {
  const text = 'timestamp,key,size\n1,/a,100\n2,/b,50\n\n3,/a,100\n4,/a,70\n5,/b,50\n';

  it('reads plain and gzip files alike, a changed size being a new object', async () => {
    const plain = join(dir, 't.csv');
    const gz = join(dir, 't.csv.gz');
    await writeFile(plain, text);
    await writeFile(gz, gzipSync(text));
    for (const file of [plain, gz]) {
      const trace = await readTraceFile(file, 't');
      expect(trace.name).toBe('t');
      expect(Array.from(trace.requests)).toEqual([0, 1, 0, 2, 1]);
      expect(Array.from(trace.sizes)).toEqual([100, 50, 70]);
      expect(trace.countOnly).toBe(false);
      expect(traceTotals(trace)).toEqual({ requests: 5, objects: 3, requestedBytes: 370, uniqueBytes: 220 });
      expect(Array.from(nextUseIndex(trace))).toEqual([2, 4, 5, 5, 5]);
    }
  });

  it('marks traces without sizes (all 1) as count-only, header optional', async () => {
    const file = join(dir, 'count.csv');
    await writeFile(file, '1,x,1\n2,y,1\n3,x,1\n');
    const trace = await readTraceFile(file, 'count');
    expect(trace.countOnly).toBe(true);
    expect(Array.from(trace.requests)).toEqual([0, 1, 0]);
  });

  it('names the file and line of a malformed line', async () => {
    const file = join(dir, 'bad.csv.gz');
    await writeFile(file, gzipSync('timestamp,key,size\n1,/a,1\n2,/b,big\n'));
    await expect(readTraceFile(file, 'bad')).rejects.toThrow(`${file}:3: size "big"`);
  });

  it('fails clearly on a missing file', async () => {
    await expect(readTraceFile(join(dir, 'nope.csv'), 'nope')).rejects.toThrow(/ENOENT/);
  });
});
