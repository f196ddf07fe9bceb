/**
 * SharedFetch's states (awaiting | streaming | complete | failed) as a joiner and a subscriber see them, with a
 * real origin on loopback, the single-origin upstream, and an EdgeCache that every store write goes through.
 */
import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { BodySink } from '../../src/edge/body-source.js';
import { EdgeCache } from '../../src/edge/cache.js';
import type { CachedObject } from '../../src/edge/entry.js';
import { SharedFetch, type FetchParams } from '../../src/edge/shared-fetch.js';
import { EdgeStore } from '../../src/edge/store.js';
import { SingleOrigin } from '../../src/edge/upstream/single-origin.js';
import { startOrigin, type TestOrigin } from './harness.js';

let origin: TestOrigin | undefined;
let upstream: SingleOrigin | undefined;
afterEach(async () => {
  upstream?.close();
  await origin?.close();
});

async function setup(): Promise<{ cache: EdgeCache; start(path: string): SharedFetch }> {
  origin = await startOrigin();
  upstream = new SingleOrigin({ origin: origin.url, timeoutMs: 2000 });
  const cache = new EdgeCache(new EdgeStore<CachedObject>({ maxBytes: 1024 * 1024, maxObjectBytes: 64 * 1024 }), Date.now, '1.1 test');
  const ctx = { cache, upstream, now: Date.now };
  return {
    cache,
    start: (path) => {
      const params: FetchParams = { key: `h${path}`, primaryKey: `h${path}`, host: 'h', path, fill: { method: 'GET', url: path, headers: {} }, originHeaders: { host: 'h' } };
      return new SharedFetch(ctx, params, () => undefined);
    },
  };
}

/** A sink that collects the body and says how it ended. */
function collector(): BodySink & { text(): string; ended: Promise<'end' | 'fail'> } {
  const chunks: Buffer[] = [];
  let done!: (how: 'end' | 'fail') => void;
  const ended = new Promise<'end' | 'fail'>((r) => (done = r));
  return { write: (c) => chunks.push(c) > 0, end: () => done('end'), fail: () => done('fail'), text: () => Buffer.concat(chunks).toString(), ended };
}

/** An origin handler that sends the head and `first`, and the rest when `finish()` is called. */
function held(headers: Record<string, string>, first: string): { handler: (req: http.IncomingMessage, res: http.ServerResponse) => void; finish(rest: string): void; cut(): void } {
  let res: http.ServerResponse | undefined;
  let req: http.IncomingMessage | undefined;
  return {
    handler: (q, r) => {
      req = q;
      res = r;
      r.writeHead(200, headers);
      r.write(first);
    },
    finish: (rest) => res?.end(rest),
    cut: () => req?.socket.destroy(),
  };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('SharedFetch states', () => {
  it('awaiting and streaming a kept body are joinable; a late subscriber gets the whole body; complete stores once', async () => {
    const { cache, start } = await setup();
    const h = held({ 'cache-control': 'max-age=60' }, 'first-');
    let headSent!: () => void;
    const gate = new Promise<void>((r) => (headSent = r));
    origin!.on('/k', (req, res) => void gate.then(() => h.handler(req, res)));
    const fetch = start('/k');
    expect(fetch.joinable).toBe(true); // awaiting
    headSent();
    const outcome = await fetch.outcome;
    expect(outcome).toMatchObject({ kind: 'response', status: 200, shared: true, storing: true });
    const early = collector();
    fetch.subscribe(early);
    await until(() => early.text() === 'first-');
    expect(fetch.joinable).toBe(true); // streaming, kept
    const late = collector();
    expect(fetch.subscribe(late)).toBe(true);
    expect(late.text()).toBe('first-'); // replayed from the kept chunks
    h.finish('last');
    expect(await early.ended).toBe('end');
    expect(await late.ended).toBe('end');
    expect(late.text()).toBe('first-last');
    expect((await fetch.completed)?.body.toString()).toBe('first-last');
    expect(fetch.joinable).toBe(false); // complete
    expect(cache.store.objects).toBe(1);
    const after = collector();
    expect(fetch.subscribe(after)).toBe(true);
    expect([after.text(), await after.ended]).toEqual(['first-last', 'end']);
  });

  it('a relayed (unstorable) body is not joinable, and cannot be subscribed to once bytes have gone by', async () => {
    const { cache, start } = await setup();
    const h = held({ 'cache-control': 'no-store' }, 'one-');
    origin!.on('/n', h.handler);
    const fetch = start('/n');
    expect(await fetch.outcome).toMatchObject({ kind: 'response', shared: false, storing: false, notStorable: 'policy' });
    expect(fetch.joinable).toBe(false);
    const owner = collector();
    expect(fetch.subscribe(owner)).toBe(true);
    await until(() => owner.text() === 'one-');
    expect(fetch.subscribe(collector())).toBe(false);
    h.finish('two');
    expect([await owner.ended, owner.text()]).toEqual(['end', 'one-two']);
    expect(await fetch.completed).toBeUndefined();
    expect(fetch.subscribe(collector())).toBe(false); // complete, but nothing was kept to replay
    expect(cache.store.objects).toBe(0);
  });

  it('an origin that dies mid-body fails every subscriber, later ones at once, and stores nothing', async () => {
    const { cache, start } = await setup();
    const h = held({ 'cache-control': 'max-age=60', 'content-length': '100' }, 'part');
    origin!.on('/cut', h.handler);
    const fetch = start('/cut');
    await fetch.outcome;
    const sub = collector();
    fetch.subscribe(sub);
    await until(() => sub.text() === 'part');
    h.cut();
    expect(await sub.ended).toBe('fail');
    expect(fetch.joinable).toBe(false); // failed
    const after = collector();
    expect(fetch.subscribe(after)).toBe(true);
    expect(await after.ended).toBe('fail');
    expect(await fetch.completed).toBeUndefined();
    expect(cache.store.objects).toBe(0);
  });

  it('an unreachable origin settles as an error outcome, not a rejection', async () => {
    const { start } = await setup();
    await origin!.close();
    const fetch = start('/gone');
    const outcome = await fetch.outcome;
    expect(outcome.kind).toBe('error');
    expect(fetch.joinable).toBe(false);
  });
});
