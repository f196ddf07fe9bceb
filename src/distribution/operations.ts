/**
 * The operations a publisher journals and every edge applies, in sequence order.
 * These JSON shapes travel between processes, so they are parsed from `unknown` with explicit checks.
 */
import { isPurgeableTag, parseTags } from '../http/tags.js';

export interface PutOperation {
  kind: 'put';
  seq: number;
  /** Milliseconds since the epoch when the operation was journaled (used for lag in seconds). */
  time: number;
  path: string;
  status: number;
  etag: string;
  /** Response headers to store, lower-case names (content-type, cache-control, last-modified, surrogate-key ...). */
  headers: Record<string, string>;
  /** Hex SHA-256 and length of the body; bodies travel beside the JSON and are checked against both. */
  sha256: string;
  length: number;
}

export type PurgeTarget = { type: 'url'; path: string } | { type: 'prefix'; prefix: string } | { type: 'tag'; tag: string };

export interface PurgeOperation {
  kind: 'purge';
  seq: number;
  time: number;
  target: PurgeTarget;
}

export type Operation = PutOperation | PurgeOperation;

/** What a publisher submits: an operation before the journal gives it a sequence number and a time. */
export type PutInput = Omit<PutOperation, 'seq' | 'time'>;
export type PurgeInput = Omit<PurgeOperation, 'seq' | 'time'>;
export type OperationInput = PutInput | PurgeInput;

export class OperationFormatError extends Error {}

function fail(reason: string): never {
  throw new OperationFormatError(reason);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${key} must be a string`);
  return v;
}

function nat(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${key} must be a non-negative integer`);
  return v;
}

export function checkUrlPath(path: string): string {
  if (!path.startsWith('/') || path.length > 2048 || /[\0\s]/.test(path)) fail(`bad path ${JSON.stringify(path.slice(0, 80))}`);
  return path;
}

function parseHeaders(v: unknown): Record<string, string> {
  if (!isRecord(v)) fail('headers must be an object');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(k) || /[\r\n\0]/.test(val)) fail(`bad header ${JSON.stringify(k)}`);
    out[k] = val;
  }
  return out;
}

export function parsePurgeTarget(v: unknown): PurgeTarget {
  if (!isRecord(v)) fail('target must be an object');
  switch (v.type) {
    case 'url':
      return { type: 'url', path: checkUrlPath(str(v, 'path')) };
    case 'prefix':
      return { type: 'prefix', prefix: checkUrlPath(str(v, 'prefix')) };
    case 'tag': {
      const tag = str(v, 'tag');
      if (!isPurgeableTag(tag)) fail('bad tag');
      return { type: 'tag', tag };
    }
    default:
      fail('target.type must be url, prefix or tag');
  }
}

/** Parses an operation without seq/time (as submitted) or with them (as journaled), by `withSeq`. */
export function parseOperationInput(v: unknown): OperationInput {
  if (!isRecord(v)) fail('operation must be an object');
  if (v.kind === 'put') {
    const sha256 = str(v, 'sha256');
    if (!/^[0-9a-f]{64}$/.test(sha256)) fail('sha256 must be 64 hex digits');
    const status = nat(v, 'status');
    if (status < 200 || status > 599) fail('bad status');
    return { kind: 'put', path: checkUrlPath(str(v, 'path')), status, etag: str(v, 'etag'), headers: parseHeaders(v.headers), sha256, length: nat(v, 'length') };
  }
  if (v.kind === 'purge') return { kind: 'purge', target: parsePurgeTarget(v.target) };
  fail('kind must be put or purge');
}

export function parseOperation(v: unknown): Operation {
  const input = parseOperationInput(v);
  const o = v as Record<string, unknown>;
  return { ...input, seq: nat(o, 'seq'), time: nat(o, 'time') };
}

export function purgeMatches(target: PurgeTarget, put: PutOperation): boolean {
  switch (target.type) {
    case 'url':
      return put.path === target.path;
    case 'prefix':
      return put.path.startsWith(target.prefix);
    case 'tag':
      return parseTags(put.headers['surrogate-key'], put.headers['cache-tag']).includes(target.tag);
  }
}

/** The live objects after `op`: a put replaces its path, a purge removes what it matches. */
export function applyToLiveObjects(live: Map<string, PutOperation>, op: Operation): void {
  if (op.kind === 'put') {
    live.set(op.path, op);
    return;
  }
  if (op.target.type === 'url') {
    live.delete(op.target.path);
    return;
  }
  for (const [path, put] of live) if (purgeMatches(op.target, put)) live.delete(path);
}

/**
 * The command-line spelling of a purge: `/a/b` (one URL), `/a/*` (prefix), `tag:NAME`.
 * A pattern that matches everything (`/*`, `*`, `/`-prefix) must be asked for with `all`, so that a typo
 * cannot empty every edge.
 */
export function purgeTargetFromPattern(pattern: string, all: boolean): PurgeTarget {
  if (pattern.startsWith('tag:')) return parsePurgeTarget({ type: 'tag', tag: pattern.slice(4) });
  if (pattern === '*' || pattern === '/*' || pattern === '/') {
    if (!all) throw new OperationFormatError(`purging "${pattern}" would remove everything: pass --all to mean it`);
    return { type: 'prefix', prefix: '/' };
  }
  if (pattern.endsWith('*')) return parsePurgeTarget({ type: 'prefix', prefix: pattern.slice(0, -1) });
  return parsePurgeTarget({ type: 'url', path: pattern });
}

export function matchesEverything(target: PurgeTarget): boolean {
  return target.type === 'prefix' && target.prefix === '/';
}

export function describeTarget(t: PurgeTarget): string {
  return t.type === 'url' ? t.path : t.type === 'prefix' ? `${t.prefix}*` : `tag:${t.tag}`;
}
