/**
 * RFC 1035 §5 master files, as BIND and Knot read them: $ORIGIN, $TTL (RFC 2308 §4), $INCLUDE,
 * '@', relative names, owner/TTL/class inherited from the previous record, parentheses, comments,
 * quoted strings and \X / \DDD escapes. Types: SOA NS A AAAA CNAME MX TXT SRV PTR CAA.
 *
 * This module only turns text into records (`parseMasterFile`); zone rules (one SOA at the apex, ...)
 * live in validate.ts, so root hints (`named.root`) go through the same parser.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { ResourceRecord } from '../types.js';
import { nameKey } from '../name.js';
import { escapeLabel, nameWireLength } from '../name-codec.js';
import { decodeEscapes, lexEntries, type Entry, type Token } from './lexer.js';
import { runSteps } from './steps.js';

/** A record and where it was written, so that validation errors can name the line. */
export interface ParsedRecord {
  record: ResourceRecord;
  file: string;
  line: number;
}

export interface ParseOptions {
  /** Origin for relative names and '@' (e.g. 'cdn.test', or '.' for root hints). */
  origin: string;
  /** Folder that $INCLUDE paths are relative to; an include resolving outside it is an error. Omit to forbid $INCLUDE. */
  includeDir?: string;
  /** TTL for records before any $TTL or explicit TTL (root hints files rely on explicit TTLs). */
  defaultTtl?: number;
}

export interface ParseResult {
  records: ParsedRecord[];
  errors: ConfigError[];
}

export const SUPPORTED_TYPES = ['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'PTR', 'CAA'] as const;
type SupportedType = (typeof SUPPORTED_TYPES)[number];
const TYPE_SET: ReadonlySet<string> = new Set(SUPPORTED_TYPES);
const CLASSES: ReadonlySet<string> = new Set(['IN', 'CH', 'HS', 'CS']);
/** RFC 2181 §8: a TTL is an unsigned 31-bit value. */
const MAX_TTL = 0x7fffffff;
const MAX_INCLUDE_DEPTH = 8;

/** Thrown inside one entry; becomes a ConfigError for that line, and parsing goes on with the next entry. */
class EntryError extends Error {}

interface State {
  file: string;
  origin: string;
  ttl: number | undefined;
  lastTtl: number | undefined;
  lastOwner: string | undefined;
  includeDir: string | undefined;
  depth: number;
  emit: (record: ParsedRecord) => void;
  errors: ConfigError[];
}

/** Parses a master file from disk. Never throws for bad content: every problem is in `errors`. */
export function parseMasterFile(file: string, options: ParseOptions): ParseResult {
  const { state, result } = freshState(file, options);
  runSteps(parseFileSteps(state));
  return result;
}

/** Parses text that did not come from disk (tests, embedded hints); `file` is used in messages only. */
export function parseMasterText(text: string, file: string, options: ParseOptions): ParseResult {
  const { state, result } = freshState(file, options);
  runSteps(parseTextSteps(text, state));
  return result;
}

/**
 * Parses a master file from disk, handing each record to `emit` as soon as it is read (large zones are
 * never held as one array of records). The generator yields once per entry: the caller decides when to
 * pause (catalog.ts yields to the event loop so that queries keep being answered during a load).
 * Problems are pushed to `errors`, as in `parseMasterFile`.
 */
export function parseMasterFileSteps(file: string, options: ParseOptions, emit: (record: ParsedRecord) => void, errors: ConfigError[]): Generator<void, void, undefined> {
  const { state } = freshState(file, options);
  state.emit = emit;
  state.errors = errors;
  return parseFileSteps(state);
}

function freshState(file: string, options: ParseOptions): { state: State; result: ParseResult } {
  const result: ParseResult = { records: [], errors: [] };
  const state: State = {
    file,
    origin: nameKey(options.origin),
    ttl: options.defaultTtl,
    lastTtl: undefined,
    lastOwner: undefined,
    includeDir: options.includeDir,
    depth: 0,
    emit: (record) => result.records.push(record),
    errors: result.errors,
  };
  return { state, result };
}

function* parseFileSteps(state: State): Generator<void, void, undefined> {
  let text: string;
  try {
    text = readFileSync(state.file, 'utf8');
  } catch (err) {
    state.errors.push(new ConfigError({ file: state.file }, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`));
    return;
  }
  yield* parseTextSteps(text, state);
}

function* parseTextSteps(text: string, state: State): Generator<void, void, undefined> {
  const lexErrors = (e: { line: number; reason: string }): void => void state.errors.push(new ConfigError({ file: state.file, line: e.line }, e.reason));
  for (const entry of lexEntries(text, lexErrors)) {
    let include: State | undefined;
    try {
      include = parseEntry(entry, state);
    } catch (err) {
      if (!(err instanceof EntryError)) throw err;
      state.errors.push(new ConfigError({ file: state.file, line: entry.line }, err.message));
    }
    if (include) yield* parseFileSteps(include);
    yield;
  }
}

/** Parses one entry: a record (emitted), or a directive; `$INCLUDE` returns the state to parse the included file with. */
function parseEntry(entry: Entry, state: State): State | undefined {
  const first = entry.tokens[0]!;
  if (!entry.ownerBlank && !first.quoted && first.text.startsWith('$')) return parseDirective(entry, state);
  const tokens = entry.tokens;
  let i = 0;
  let owner: string;
  if (entry.ownerBlank) {
    if (state.lastOwner === undefined) throw new EntryError('no owner name: the first record must name its owner');
    owner = state.lastOwner;
  } else {
    owner = parseName(tokens[i++]!, state.origin, 'owner');
  }
  let ttl: number | undefined;
  let seenClass = false;
  for (let k = 0; k < 2 && i < tokens.length; k++) {
    const t = tokens[i]!.text;
    if (ttl === undefined && /^[0-9]/.test(t)) {
      ttl = parseTtl(t, 'TTL');
      i++;
    } else if (!seenClass && CLASSES.has(t.toUpperCase())) {
      if (t.toUpperCase() !== 'IN') throw new EntryError(`class ${t.toUpperCase()} is not supported (only IN)`);
      seenClass = true;
      i++;
    }
  }
  const typeToken = tokens[i++];
  if (typeToken === undefined) throw new EntryError('missing record type');
  const type = typeToken.text.toUpperCase();
  if (!TYPE_SET.has(type)) throw new EntryError(`unknown or unsupported record type "${typeToken.text}"`);
  // RFC 2308 §4: $TTL applies to records without one; before RFC 2308, the previous record's TTL did.
  const effectiveTtl = ttl ?? state.ttl ?? state.lastTtl;
  if (effectiveTtl === undefined) throw new EntryError('no TTL: give the record a TTL or put $TTL before it');
  const record = parseRdata(type as SupportedType, owner, effectiveTtl, tokens.slice(i), state.origin);
  state.lastOwner = owner;
  if (ttl !== undefined) state.lastTtl = ttl;
  state.emit({ record, file: state.file, line: entry.line });
  return undefined;
}

function parseDirective(entry: Entry, state: State): State | undefined {
  const [directive, ...args] = entry.tokens;
  const name = directive!.text.toUpperCase();
  if (name === '$ORIGIN') {
    if (args.length !== 1) throw new EntryError('$ORIGIN takes one domain name');
    const origin = args[0]!.text;
    if (!origin.endsWith('.') || origin.endsWith('\\.')) throw new EntryError(`$ORIGIN "${origin}" must be absolute (end with ".")`);
    state.origin = nameKey(parseName(args[0]!, state.origin, '$ORIGIN'));
    return undefined;
  }
  if (name === '$TTL') {
    if (args.length !== 1) throw new EntryError('$TTL takes one value');
    state.ttl = parseTtl(args[0]!.text, '$TTL');
    return undefined;
  }
  if (name === '$INCLUDE') {
    if (args.length < 1 || args.length > 2) throw new EntryError('$INCLUDE takes a file name and an optional origin');
    return includeState(args[0]!.text, args[1], state);
  }
  throw new EntryError(`unknown directive "${directive!.text}"`);
}

/** The state an included file is parsed with, after checking the path stays inside the zones folder. */
function includeState(pathText: string, originToken: Token | undefined, state: State): State {
  if (state.includeDir === undefined) throw new EntryError('$INCLUDE is not allowed here');
  if (state.depth >= MAX_INCLUDE_DEPTH) throw new EntryError(`$INCLUDE nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
  if (isAbsolute(pathText)) throw new EntryError(`$INCLUDE path "${pathText}" must be relative to the zones folder`);
  const target = resolve(state.includeDir, pathText);
  let real: string;
  let realDir: string;
  try {
    real = realpathSync(target);
    realDir = realpathSync(state.includeDir);
  } catch {
    throw new EntryError(`$INCLUDE file "${pathText}" does not exist`);
  }
  const rel = relative(realDir, real);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new EntryError(`$INCLUDE path "${pathText}" is outside the zones folder`);
  // RFC 1035 §5.1: the included file may change its origin, but that never leaks back to the parent.
  return {
    ...state,
    file: target,
    origin: originToken ? nameKey(parseName(originToken, state.origin, '$INCLUDE origin')) : state.origin,
    lastOwner: state.lastOwner,
    depth: state.depth + 1,
  };
}

/** TTLs: seconds, or BIND's units (1h30m, 2d, 1w). */
function parseTtl(text: string, what: string): number {
  let seconds: number;
  if (/^[0-9]+$/.test(text)) seconds = Number(text);
  else if (/^([0-9]+[smhdw])+$/i.test(text)) {
    const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    seconds = 0;
    for (const m of text.toLowerCase().matchAll(/([0-9]+)([smhdw])/g)) seconds += Number(m[1]) * unit[m[2]!]!;
  } else throw new EntryError(`${what} "${text}" is not a number of seconds`);
  if (seconds > MAX_TTL) throw new EntryError(`${what} ${text} is larger than 2^31-1 (RFC 2181 §8)`);
  return seconds;
}

/** A domain name field: '@' is the origin; a name without a final dot is relative to the origin. */
function parseName(token: Token, origin: string, what: string): string {
  const raw = token.text;
  if (raw === '@') return origin === '' ? '.' : origin;
  if (raw === '.') return '.';
  const plain = plainName(raw, origin);
  if (plain !== undefined) return plain;
  const absolute = /(^|[^\\])(\\\\)*\.$/.test(raw);
  const body = absolute ? raw.slice(0, -1) : raw;
  const labels: string[] = [];
  let label = '';
  for (let i = 0; i <= body.length; i++) {
    const c = body[i];
    if (c === '\\' && i + 1 < body.length) {
      // keep the escape together; decoded below
      if (/[0-9]/.test(body[i + 1]!)) {
        label += body.slice(i, i + 4);
        i += 3;
      } else {
        label += body.slice(i, i + 2);
        i += 1;
      }
      continue;
    }
    if (c === '.' || c === undefined) {
      if (label === '') throw new EntryError(`${what} "${raw}" has an empty label`);
      const bytes = decodeEscapes(label);
      if (typeof bytes === 'string') throw new EntryError(`${what} "${raw}": ${bytes}`);
      if (bytes.length > 63) throw new EntryError(`${what} "${raw}" has a label longer than 63 bytes`);
      // RFC 2181 §11: a label may hold every byte value; kept in the one escaped form the wire layer reads and writes.
      labels.push(escapeLabel(bytes));
      label = '';
      continue;
    }
    label += c;
  }
  if (!absolute && origin !== '') labels.push(origin);
  const name = labels.join('.');
  // RFC 1035 §3.1: 255 bytes on the wire (length bytes + labels + the root byte).
  // (Each label is 1..63 bytes by now, so the length is all that nameWireLength can refuse.)
  if (name !== '' && !fitsOnWire(name)) throw new EntryError(`${what} "${raw}" is longer than 255 bytes`);
  return name === '' ? '.' : name;
}

function fitsOnWire(name: string): boolean {
  try {
    return nameWireLength(name) <= 255;
  } catch {
    return false;
  }
}

/**
 * The common case without the label-by-label decoding below: printable ASCII, no escapes, labels of
 * 1..63 bytes, at most 255 bytes in all. Undefined for anything else (the full parser decides, and
 * words the errors). Half the parse time of a 1M-name zone went to decoding such names byte by byte.
 */
function plainName(raw: string, origin: string): string | undefined {
  const absolute = raw.endsWith('.');
  const end = absolute ? raw.length - 1 : raw.length;
  let labelStart = 0;
  for (let i = 0; i <= end; i++) {
    const c = i === end ? 0x2e : raw.charCodeAt(i);
    if (c === 0x2e) {
      const length = i - labelStart;
      if (length === 0 || length > 63) return undefined;
      labelStart = i + 1;
    } else if (c <= 0x20 || c >= 0x7f || c === 0x5c) return undefined;
  }
  const name = absolute ? raw.slice(0, -1) : origin === '' ? raw : `${raw}.${origin}`;
  // RFC 1035 §3.1: 255 bytes on the wire (length bytes + labels + the root byte).
  return name.length + 2 > 255 ? undefined : name;
}

function parseNumber(token: Token | undefined, what: string, max: number): number {
  if (token === undefined) throw new EntryError(`missing ${what}`);
  if (!/^[0-9]+$/.test(token.text)) throw new EntryError(`${what} "${token.text}" is not a number`);
  const n = Number(token.text);
  if (n > max) throw new EntryError(`${what} ${token.text} is larger than ${max}`);
  return n;
}

function characterString(token: Token, what: string): Buffer {
  const bytes = decodeEscapes(token.text);
  if (typeof bytes === 'string') throw new EntryError(`${what}: ${bytes}`);
  if (bytes.length > 255) throw new EntryError(`${what} string is ${bytes.length} bytes; one string holds at most 255 (split it into several)`);
  return bytes;
}

function expectFields(type: string, fields: Token[], count: number, layout: string): void {
  if (fields.length !== count) throw new EntryError(`${type} needs ${count} field${count === 1 ? '' : 's'} (${layout}), got ${fields.length}`);
}

function parseRdata(type: SupportedType, name: string, ttl: number, f: Token[], origin: string): ResourceRecord {
  // Literals of one shape (no spread of a shared base): V8 builds them ~2x faster, measured on 1M records.
  switch (type) {
    case 'A':
      expectFields(type, f, 1, 'address');
      if (!isIPv4(f[0]!.text)) throw new EntryError(`A "${f[0]!.text}" is not an IPv4 address`);
      return { name, ttl, class: 'IN', type, data: f[0]!.text };
    case 'AAAA':
      expectFields(type, f, 1, 'address');
      if (!isIPv6(f[0]!.text)) throw new EntryError(`AAAA "${f[0]!.text}" is not an IPv6 address`);
      return { name, ttl, class: 'IN', type, data: f[0]!.text };
    case 'NS':
    case 'CNAME':
    case 'PTR':
      expectFields(type, f, 1, 'domain name');
      return { name, ttl, class: 'IN', type, data: parseName(f[0]!, origin, type) };
    case 'MX':
      expectFields(type, f, 2, 'preference exchange');
      return { name, ttl, class: 'IN', type, data: { preference: parseNumber(f[0], 'MX preference', 0xffff), exchange: parseName(f[1]!, origin, 'MX exchange') } };
    case 'SRV':
      expectFields(type, f, 4, 'priority weight port target');
      return {
        name,
        ttl,
        class: 'IN',
        type,
        data: {
          priority: parseNumber(f[0], 'SRV priority', 0xffff),
          weight: parseNumber(f[1], 'SRV weight', 0xffff),
          port: parseNumber(f[2], 'SRV port', 0xffff),
          target: parseName(f[3]!, origin, 'SRV target'),
        },
      };
    case 'TXT':
      if (f.length === 0) throw new EntryError('TXT needs at least one string');
      return { name, ttl, class: 'IN', type, data: f.map((t) => characterString(t, 'TXT')) };
    case 'SOA':
      expectFields(type, f, 7, 'mname rname serial refresh retry expire minimum');
      return {
        name,
        ttl,
        class: 'IN',
        type,
        data: {
          mname: parseName(f[0]!, origin, 'SOA mname'),
          rname: parseName(f[1]!, origin, 'SOA rname'),
          serial: parseNumber(f[2], 'SOA serial', 0xffffffff),
          refresh: parseTtl(f[3]!.text, 'SOA refresh'),
          retry: parseTtl(f[4]!.text, 'SOA retry'),
          expire: parseTtl(f[5]!.text, 'SOA expire'),
          minimum: parseTtl(f[6]!.text, 'SOA minimum'),
        },
      };
    case 'CAA': {
      expectFields(type, f, 3, 'flags tag value');
      const flags = parseNumber(f[0], 'CAA flags', 255);
      const tag = f[1]!.text.toLowerCase();
      if (tag !== 'issue' && tag !== 'issuewild' && tag !== 'iodef') throw new EntryError(`CAA tag "${f[1]!.text}" is not issue, issuewild or iodef`);
      return { name, ttl, class: 'IN', type, data: { flags, tag, value: characterString(f[2]!, 'CAA value').toString('latin1') } };
    }
  }
}
