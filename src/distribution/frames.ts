import { createHash } from 'node:crypto';
import { HttpError } from '../errors.js';
import { OperationFormatError, parseOperation, parseOperationInput } from './operations.js';
import type { Operation, OperationInput, PutOperation } from './operations.js';

/**
 * The wire format for operations with their bodies, between publisher, distribution nodes and edges:
 * a sequence of frames `u32 json-length | JSON | u32 body-length | body` (big-endian). A put's body must have
 * exactly the declared length and SHA-256, or the whole batch is refused (400) before anything is applied.
 *
 * A catch-up stream for a reader older than the journal's snapshot is one page of that snapshot: a `reset` frame
 * (`{kind:'reset', seq, time, from, total, count}`) followed by `count` put frames, entries `from..from+count` of
 * the `total` live objects as of `seq`. Pages are bounded like any batch, so a large state never travels whole.
 *
 * A put whose body the receiver would not store (larger than the max object size it announced) travels with
 * `omitted: true` and no body: the receiver records the operation, in order, and reports the object skipped.
 */
export const FRAMES_CONTENT_TYPE = 'application/vnd.dnscdn.ops';

export interface Reset {
  kind: 'reset';
  seq: number;
  time: number;
  from: number;
  total: number;
  entries: Array<{ op: PutOperation; body?: Buffer | undefined }>;
}

export type StreamItem = { kind: 'op'; op: Operation; body?: Buffer | undefined } | Reset;

export function encodeFrame(header: object, body?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(8 + json.length + (body?.length ?? 0));
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  out.writeUInt32BE(body?.length ?? 0, 4 + json.length);
  body?.copy(out, 8 + json.length);
  return out;
}

export function encodeStream(items: StreamItem[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    if (item.kind === 'reset') {
      parts.push(encodeFrame({ kind: 'reset', seq: item.seq, time: item.time, from: item.from, total: item.total, count: item.entries.length }));
      for (const e of item.entries) parts.push(putFrame(e.op, e.body));
    } else {
      parts.push(putFrame(item.op, item.body));
    }
  }
  return Buffer.concat(parts);
}

function putFrame(op: Operation, body: Buffer | undefined): Buffer {
  return op.kind === 'put' && body === undefined ? encodeFrame({ ...op, omitted: true }) : encodeFrame(op, body);
}

interface RawFrame {
  header: unknown;
  body: Buffer;
}

function* rawFrames(buf: Buffer): Generator<RawFrame> {
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 4) throw new HttpError(400, 'truncated frame');
    const jsonLen = buf.readUInt32BE(at);
    if (buf.length - at - 4 < jsonLen + 4) throw new HttpError(400, 'truncated frame');
    let header: unknown;
    try {
      header = JSON.parse(buf.toString('utf8', at + 4, at + 4 + jsonLen)) as unknown;
    } catch {
      throw new HttpError(400, 'frame header is not JSON');
    }
    const bodyLen = buf.readUInt32BE(at + 4 + jsonLen);
    const start = at + 8 + jsonLen;
    if (buf.length - start < bodyLen) throw new HttpError(400, 'truncated frame body');
    yield { header, body: buf.subarray(start, start + bodyLen) };
    at = start + bodyLen;
  }
}

/** Checks a put's body against its declared length and digest (the "bad input" rule for pushes). */
export function verifyBody(op: { path: string; length: number; sha256: string }, body: Buffer): void {
  if (body.length !== op.length) throw new HttpError(400, `body of ${op.path} is ${body.length} bytes, declared ${op.length}`);
  const actual = createHash('sha256').update(body).digest('hex');
  if (actual !== op.sha256) throw new HttpError(400, `body of ${op.path} does not match its declared sha256`);
}

function parsed<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof OperationFormatError) throw new HttpError(400, err.message);
    throw err;
  }
}

/** Decodes submitted operations (no sequence numbers yet), verifying every put body. */
export function decodeInputs(buf: Buffer): Array<{ op: OperationInput; body?: Buffer }> {
  const out: Array<{ op: OperationInput; body?: Buffer }> = [];
  for (const f of rawFrames(buf)) {
    const op = parsed(() => parseOperationInput(f.header));
    if (op.kind === 'put') {
      verifyBody(op, f.body);
      out.push({ op, body: f.body });
    } else {
      out.push({ op });
    }
  }
  return out;
}

/** Decodes a journal stream (pushed batch or catch-up answer), verifying every put body. */
export function decodeStream(buf: Buffer): StreamItem[] {
  const out: StreamItem[] = [];
  let reset: Reset | undefined;
  let remaining = 0;
  for (const f of rawFrames(buf)) {
    const h = f.header;
    if (typeof h === 'object' && h !== null && (h as { kind?: unknown }).kind === 'reset') {
      const r = h as { seq?: unknown; time?: unknown; count?: unknown; from?: unknown; total?: unknown };
      const nat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
      if (!nat(r.seq) || !nat(r.count) || !nat(r.time) || !nat(r.from) || !nat(r.total) || r.from + r.count > r.total) throw new HttpError(400, 'bad reset frame');
      reset = { kind: 'reset', seq: r.seq, time: r.time, from: r.from, total: r.total, entries: [] };
      remaining = r.count;
      out.push(reset);
      continue;
    }
    const op = parsed(() => parseOperation(h));
    const omitted = op.kind === 'put' && (h as { omitted?: unknown }).omitted === true && f.body.length === 0;
    if (op.kind === 'put' && !omitted) verifyBody(op, f.body);
    const body = op.kind === 'put' && !omitted ? f.body : undefined;
    if (reset && remaining > 0) {
      if (op.kind !== 'put') throw new HttpError(400, 'reset frame followed by a non-put');
      reset.entries.push({ op, body });
      remaining--;
      continue;
    }
    out.push(body ? { kind: 'op', op, body } : { kind: 'op', op });
  }
  if (remaining > 0) throw new HttpError(400, 'reset frame with missing entries');
  return out;
}
