/**
 * Reading a whole HTTP body into memory, never more than a limit: request bodies of admin endpoints (413
 * past the limit) and response bodies of links between roles (http/client.ts). A peer that announces or
 * sends more is cut off at once, so it cannot make us buffer without bound.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { HttpError } from '../errors.js';
import { single } from './header-value.js';

/** The body went past its limit; the stream has been destroyed. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body over the ${limit}-byte limit`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body stopped before its end (the peer closed or reset the connection). */
export class BodyCutShortError extends Error {
  constructor(readonly code: string, detail: string) {
    super(detail);
    this.name = 'BodyCutShortError';
  }
}

/** Collects `stream` up to `limit` bytes; rejects with BodyTooLargeError past it, BodyCutShortError if cut. */
export function readBounded(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        settle(new BodyTooLargeError(limit));
        stream.destroy();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => settle(undefined));
    stream.on('error', (err: NodeJS.ErrnoException) => settle(new BodyCutShortError(err.code ?? 'error', err.message)));
    stream.on('close', () => settle(new BodyCutShortError('ECONNRESET', 'connection closed before the end of the body')));
  });
}

/** A request body up to `limit` bytes: 413 if its Content-Length or its bytes go past the limit, 400 if cut short. */
export async function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(single(req.headers['content-length']) ?? '0');
  if (declared > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
  try {
    return await readBounded(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new HttpError(413, `body larger than ${limit} bytes`);
    if (err instanceof BodyCutShortError) throw new HttpError(400, `request body cut short: ${err.message}`);
    throw err;
  }
}

/** A body that must be a JSON object (admin APIs): 400 naming what was wrong otherwise. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'expected a JSON object');
  return value as Record<string, unknown>;
}
