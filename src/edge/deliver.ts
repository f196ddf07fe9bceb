/**
 * Writes a pipeline Delivery to the client: the only code that writes cache answers to the response socket (the
 * admin routes in server.ts write their own). Stored objects get
 * Age (RFC 9111 §5.1), X-Cache, Cache-Status (RFC 9211), and answers to the client's conditionals (304),
 * Range / If-Range (206 / 416) and HEAD, all cut from the complete stored body without copying it.
 */
import type { IncomingMessage } from 'node:http';
import type { ClientResponse, DeliveredRequest } from './client-response.js';
import { notModified, ifRangeAllows, NOT_MODIFIED_HEADERS } from '../http/conditional.js';
import { CACHE_NAME, type CachedObject } from './entry.js';
import { currentAge, MAX_AGE_SEC } from './freshness.js';
import { flatten, single, toClientHeaders, type HeaderMap } from './headers.js';
import type { BodySink } from './body-source.js';
import type { Delivery } from './pipeline.js';
import { planRange } from '../http/range.js';

/**
 * Headers the listener adds to every answer (Strict-Transport-Security on HTTPS, RFC 6797 §7.2: never on plain
 * HTTP). `NO_ADDED_HEADERS` (the plain port) keeps a hit's precomputed head as it is.
 */
/** The header map type, for the listeners that pass added headers. */
export type HeaderMapAlias = HeaderMap;

export const NO_ADDED_HEADERS: HeaderMap = Object.freeze({}) as HeaderMap;

/**
 * A plain fresh hit: one writeHead with the precomputed header list and one write of the stored body.
 * Over HTTP/2 the head goes straight onto the stream (http2HitHead) instead of through the compat response's
 * writeHead. Measured on node 20.20 (h2load, 1 KiB hits, server CPU per request): compat's writeHead with a flat
 * list validates every field twice (a removeHeader, appendHeader and setHeader per name), and it always asks for
 * trailers, which costs a JS round trip and an empty DATA frame per response; together about a quarter of the
 * edge's HTTP/2 hit cost. The compat response still ends the stream (res.end), so its state, `statusCode`,
 * `writableEnded` and its 'finish'/'close' events stay what the access log and metrics read.
 */
function writeHit(res: ClientResponse, entry: CachedObject, now: number, added: HeaderMap): void {
  const age = String(Math.floor(currentAge(entry.freshness, now)));
  const stream = res.stream;
  if (stream !== undefined && hasBody(entry.status)) {
    // What compat's writeHead does with a stream that is gone: nothing (a reset came before an encoded hit's job ended).
    if (stream.destroyed || stream.closed) return;
    const head = http2HitHead(entry, added);
    head.age = age;
    res.statusCode = entry.status;
    stream.respond(head, HTTP2_HIT_OPTIONS);
    res.end(entry.body);
    return;
  }
  entry.hitHead[entry.ageSlot] = age;
  res.writeHead(entry.status, added === NO_ADDED_HEADERS ? entry.hitHead : entry.hitHead.concat(flatten(added)));
  res.end(entry.body);
}

/** No trailers (compat's default asks for them): the body's last DATA frame ends the stream. */
const HTTP2_HIT_OPTIONS = { endStream: false, waitForTrailers: false } as const;

/** 204, 205 and 304 end the stream with the head (node's respond does): they keep compat's writeHead path. */
function hasBody(status: number): boolean {
  return status !== 204 && status !== 205 && status !== 304;
}

/**
 * RFC 9113 §8.2.2: connection-specific fields must not appear in HTTP/2; endToEnd (headers.ts) removes the
 * HTTP/1.1 hop-by-hop ones already, HTTP2-Settings is the one left (node's respond throws on it).
 */
const NOT_IN_HTTP2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

/** The entry's hit head as an HTTP/2 header object (built once per entry and listener headers, entry.ts). */
function http2HitHead(entry: CachedObject, added: HeaderMap): Record<string, string | string[] | number> {
  const built = entry.http2Head;
  if (built !== undefined && built.added === added) return built.headers;
  const headers: Record<string, string | string[] | number> = { ':status': entry.status };
  const list = added === NO_ADDED_HEADERS ? entry.hitHead : entry.hitHead.concat(flatten(added));
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (NOT_IN_HTTP2.has(name)) continue;
    const prior = headers[name];
    headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [String(prior), value];
  }
  entry.http2Head = { added, headers };
  return headers;
}

export function writeDelivery(req: DeliveredRequest, res: ClientResponse, d: Exclude<Delivery, { kind: 'admin' }>, via: string, now: number, added: HeaderMap = NO_ADDED_HEADERS): void {
  switch (d.kind) {
    case 'hit':
      return writeHit(res, d.entry, now, added);
    case 'object':
      return writeObject(req, res, d.entry, { 'x-cache': d.cache, 'cache-status': d.cacheStatus, ...added }, now);
    case 'stream':
      return writeStream(req, res, d, via, added);
    case 'pass':
      return writePass(req, res, d.response, via, { 'x-cache': d.cache, 'cache-status': d.cacheStatus, ...added }, d.setCookie);
    case 'synth':
      return writeSynth(res, d.status, d.message, d.cacheStatus, d.location === undefined ? added : { ...added, location: d.location }, d.retryAfterSec);
  }
}

export function writeSynth(res: ClientResponse, status: number, message: string, cacheStatus?: string, added: HeaderMap = NO_ADDED_HEADERS, retryAfterSec?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: HeaderMap = { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(message)), 'cache-control': 'no-store', ...added };
  if (cacheStatus) headers['cache-status'] = cacheStatus;
  if (retryAfterSec !== undefined) headers['retry-after'] = String(retryAfterSec);
  res.writeHead(status, headers);
  res.end(message);
}

function writeObject(req: DeliveredRequest, res: ClientResponse, entry: CachedObject, extra: HeaderMap, now: number): void {
  const headers: HeaderMap = { ...entry.clientHeaders, age: String(Math.min(Math.floor(currentAge(entry.freshness, now)), MAX_AGE_SEC)), ...extra };
  const isGetOrHead = req.method === 'GET' || req.method === 'HEAD';
  if (isGetOrHead && entry.status === 200 && notModified(req.headers, entry.etag, entry.lastModified)) {
    res.writeHead(304, pick(headers, [...NOT_MODIFIED_HEADERS, 'age', 'x-cache', 'cache-status']));
    res.end();
    return;
  }
  let body = entry.body;
  let status = entry.status;
  if (entry.status === 200) {
    headers['accept-ranges'] = 'bytes';
    const range = req.method === 'GET' && ifRangeAllows(req.headers, entry.etag, entry.lastModified) ? planRange(single(req.headers.range), body.length) : { kind: 'full' as const };
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, flatten({ 'content-range': `bytes */${body.length}`, 'content-length': '0', ...pick(headers, ['x-cache', 'cache-status', 'age', 'via']) }));
      res.end();
      return;
    }
    if (range.kind === 'partial') {
      status = 206;
      headers['content-range'] = `bytes ${range.start}-${range.end}/${body.length}`;
      body = body.subarray(range.start, range.end + 1);
      headers['content-length'] = String(body.length);
    }
  }
  res.writeHead(status, flatten(headers));
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

function writeStream(req: DeliveredRequest, res: ClientResponse, d: Extract<Delivery, { kind: 'stream' }>, via: string, added: HeaderMap): void {
  const headers: HeaderMap = { ...toClientHeaders(d.headers, via), 'x-cache': d.cache, 'cache-status': d.cacheStatus, ...added };
  const etag = single(d.headers.etag);
  if (d.status === 200 && notModified(req.headers, etag, single(d.headers['last-modified']))) {
    res.writeHead(304, pick(headers, [...NOT_MODIFIED_HEADERS, 'x-cache', 'cache-status']));
    res.end();
    return;
  }
  if (req.method === 'HEAD' || d.status === 204 || d.status === 304) {
    res.writeHead(d.status, flatten(headers));
    res.end();
    return;
  }
  const body = new BodyWriter(res, d.status, headers, d.cacheStatus);
  const sink: BodySink = { write: (c) => body.write(c), end: () => body.end(), fail: (err) => body.fail(err) };
  // A slow client is paused by the source (res.write returned false) and resumed when its socket drains.
  res.on('drain', () => d.body.resume(sink));
  // A client that goes away only stops listening; the shared fetch continues for the others and for the store.
  res.on('close', () => d.body.unsubscribe(sink));
  if (!d.body.subscribe(sink)) res.destroy();
}

function writePass(req: DeliveredRequest, res: ClientResponse, origin: IncomingMessage, via: string, extra: HeaderMap, setCookie: string | undefined): void {
  const headers: HeaderMap = { ...toClientHeaders(origin.headers, via), ...extra };
  // The pool's sticky cookie goes beside the origin's own cookies, never instead of them.
  if (setCookie !== undefined) headers['set-cookie'] = [...[headers['set-cookie'] ?? []].flat(), setCookie];
  const status = origin.statusCode ?? 502;
  if (req.method === 'HEAD') {
    origin.resume();
    res.writeHead(status, flatten(headers));
    res.end();
    return;
  }
  const body = new BodyWriter(res, status, headers, single(extra['cache-status']) ?? CACHE_NAME);
  origin.on('data', (c: Buffer) => {
    if (!body.write(c)) origin.pause();
  });
  res.on('drain', () => origin.resume());
  origin.on('end', () => body.end());
  origin.on('error', (err) => body.fail(err));
  origin.on('close', () => {
    if (!origin.complete) body.fail(new Error('origin closed the connection mid-body'));
  });
  res.on('close', () => {
    if (!origin.complete) origin.destroy();
  });
}

/**
 * A response body relayed from the origin, with the head written together with the first body byte (node would
 * hold it until then anyway, so nothing is sent later than before). A body that fails before its first byte (bad
 * chunking, a reset) is then still answered with 502; after that the client sees a broken response (the
 * connection is cut), never a short one that looks complete.
 */
class BodyWriter {
  private started = false;
  constructor(
    private readonly res: ClientResponse,
    private readonly status: number,
    private readonly headers: HeaderMap,
    /** Cache-Status of the relayed response; a 502 in its place adds why (RFC 9211 detail). */
    private readonly cacheStatus: string,
  ) {}

  write(c: Buffer): boolean {
    this.start();
    return this.res.write(c);
  }

  end(): void {
    this.start();
    this.res.end();
  }

  fail(err: Error): void {
    if (this.started) this.res.destroy();
    else writeSynth(this.res, 502, `origin response broken: ${err.message}\n`, `${this.cacheStatus.replace(/; (stored|detail=[^;]*)/g, '')}; detail=origin-body-broken`);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(this.status, flatten(this.headers));
  }
}

function pick(headers: HeaderMap, names: readonly string[]): HeaderMap {
  const out: HeaderMap = {};
  for (const n of names) if (headers[n] !== undefined) out[n] = headers[n];
  return out;
}
