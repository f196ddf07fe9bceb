/**
 * Answers from another process are checked, not cast: a distribution node (or a replica) that answers 200 with
 * the wrong shape is refused with the field named, over a real socket.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDistributionStatus, parseOpSummaries } from '../../src/distribution/answers.js';
import { callReplica, parseReplicaReport } from '../../src/distribution/edge-link.js';
import { HttpError } from '../../src/errors.js';
import { remotePublisher } from '../../src/origin/publisher.js';

/** A node that answers every request with 200 and the JSON the test set for its path. */
let answers = new Map<string, unknown>();
let server: http.Server;
let url: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    const body = JSON.stringify(answers.get((req.url ?? '').split('?')[0]!) ?? {});
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const GOOD_STATUS = {
  journal: { lastSeq: 3, snapshotSeq: 0, objects: 2 },
  edges: [{ name: 'a', url: 'http://127.0.0.11:8080', reachable: true, lastSeq: 3, lagOps: 0, lagSeconds: 0.5, skipped: [{ path: '/big', length: 9e6 }] }],
};

describe('remote publisher', () => {
  const publisher = (): ReturnType<typeof remotePublisher> => remotePublisher(url, 'a-token-123');

  it('returns a well-formed answer as it came', async () => {
    answers = new Map<string, unknown>([
      ['/.dnscdn/publish', { lastSeq: 4, ops: [{ seq: 4, kind: 'put', what: '/index.html' }] }],
      ['/.dnscdn/status', GOOD_STATUS],
    ]);
    expect(await publisher().publish([])).toEqual([{ seq: 4, kind: 'put', what: '/index.html' }]);
    expect(await publisher().status()).toEqual(GOOD_STATUS);
  });

  const bad: Array<{ path: string; answer: unknown; field: RegExp; call: (p: ReturnType<typeof remotePublisher>) => Promise<unknown> }> = [
    { path: '/.dnscdn/publish', answer: { lastSeq: 4 }, field: /ops is not a list/, call: (p) => p.publish([]) },
    { path: '/.dnscdn/publish', answer: { ops: [{ seq: '4', kind: 'put', what: '/x' }] }, field: /ops\[0\]\.seq is not a whole number/, call: (p) => p.publish([]) },
    { path: '/.dnscdn/publish', answer: [1, 2], field: /the answer is not an object/, call: (p) => p.publish([]) },
    { path: '/.dnscdn/status', answer: { edges: [] }, field: /journal is not an object/, call: (p) => p.status() },
    { path: '/.dnscdn/status', answer: { ...GOOD_STATUS, edges: [{ ...GOOD_STATUS.edges[0], reachable: 'yes' }] }, field: /edges\[0\]\.reachable is not true or false/, call: (p) => p.status() },
    { path: '/.dnscdn/status', answer: { ...GOOD_STATUS, edges: [{ ...GOOD_STATUS.edges[0], skipped: [{ path: '/x' }] }] }, field: /edges\[0\]\.skipped\[0\]\.length/, call: (p) => p.status() },
  ];
  for (const { path, answer, field, call } of bad) {
    it(`refuses ${JSON.stringify(answer).slice(0, 60)} from ${path} as a bad gateway naming ${field.source}`, async () => {
      answers = new Map([[path, answer]]);
      const err = await call(publisher()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(502);
      expect((err as HttpError).message).toMatch(field);
      expect((err as HttpError).message).toContain(url);
    });
  }
});

describe('replica report', () => {
  it('keeps well-formed skipped entries and refuses anything else in skipped', async () => {
    answers = new Map([['/.dnscdn/replica', { lastSeq: 7, skipped: [{ path: '/big', length: 9000000 }] }]]);
    expect((await callReplica(url, 'a-token-123', 'GET', undefined, 2000)).skipped).toEqual([{ path: '/big', length: 9000000 }]);
    answers = new Map([['/.dnscdn/replica', { lastSeq: 7, skipped: [{ path: '/big', length: -1 }] }]]);
    await expect(callReplica(url, 'a-token-123', 'GET', undefined, 2000)).rejects.toThrow(/skipped\[0\]\.length is not a whole number/);
    expect(() => parseReplicaReport({ lastSeq: 7, skipped: 'everything' })).toThrow(/skipped is not a list/);
    expect(() => parseReplicaReport({ lastSeq: 7, skipped: [{ path: ['/a'], length: 1 }] })).toThrow(/skipped\[0\]\.path is not a string/);
    expect(parseReplicaReport({ lastSeq: 7 }).skipped).toEqual([]);
  });
});

describe('dnscdn push/purge/status answers', () => {
  it('are read with the same checks as the publisher', () => {
    expect(parseOpSummaries({ ops: [{ seq: 1, kind: 'purge', what: 'tag:css' }] })).toEqual([{ seq: 1, kind: 'purge', what: 'tag:css' }]);
    expect(() => parseOpSummaries({ ops: [{ seq: 1, kind: 'purge' }] })).toThrow(/ops\[0\]\.what is not a string/);
    expect(parseDistributionStatus(GOOD_STATUS)).toEqual(GOOD_STATUS);
    expect(() => parseDistributionStatus({ journal: { lastSeq: 1, snapshotSeq: 0 }, edges: [] })).toThrow(/journal\.objects/);
  });
});
