/**
 * Reads request traces in the documented text format, plain or gzip-compressed:
 *
 *   timestamp,key,size        (optional header line)
 *   1,/img/a.jpg,48213        (one request per line)
 *
 * `timestamp` is any number (requests are replayed in file order; it is only checked), `key` is any
 * text (it may contain commas: it runs from the first to the last comma), `size` is the object size in
 * bytes, an integer >= 1. A trace without real sizes uses 1 everywhere and is then counted in objects.
 * A malformed line stops the read with an error naming the file and the line.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { TraceBuilder, type Trace } from './trace.js';

const HEADER = 'timestamp,key,size';

async function isGzip(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await file.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await file.close();
  }
}

/** Parses one data line; returns the reason when it is malformed. */
export function parseTraceLine(line: string): { key: string; size: number } | { error: string } {
  const first = line.indexOf(',');
  const last = line.lastIndexOf(',');
  if (first < 0 || first === last) return { error: 'expected "timestamp,key,size"' };
  const timestamp = line.slice(0, first).trim();
  if (timestamp === '' || !Number.isFinite(Number(timestamp))) return { error: `timestamp "${timestamp}" is not a number` };
  const key = line.slice(first + 1, last);
  if (key === '') return { error: 'empty key' };
  const sizeText = line.slice(last + 1).trim();
  if (!/^\d+$/.test(sizeText) || Number(sizeText) < 1) return { error: `size "${sizeText}" is not an integer >= 1` };
  return { key, size: Number(sizeText) };
}

export async function readTraceFile(path: string, name: string): Promise<Trace> {
  const gzip = await isGzip(path); // also fails early, and handled, when the file cannot be opened
  let input: Readable = createReadStream(path);
  if (gzip) input = input.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  const builder = new TraceBuilder();
  let lineNumber = 0;
  for await (const raw of lines) {
    lineNumber++;
    const line = raw.trim();
    if (line === '' || (lineNumber === 1 && line === HEADER)) continue;
    const parsed = parseTraceLine(line);
    if ('error' in parsed) {
      lines.close();
      input.destroy();
      throw new Error(`${path}:${lineNumber}: ${parsed.error}`);
    }
    builder.add(parsed.key, parsed.size);
  }
  return builder.build(name);
}
