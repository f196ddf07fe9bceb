import { describe, expect, it } from 'vitest';
import type { RequestSample, ResolutionSample } from '../../src/chaos/clients.js';
import type { Fault } from '../../src/chaos/faults.js';
import { convergence, faultEffects, formatReport, retryStats, summariseByKind, targetClass, timeline, type FaultEffect } from '../../src/chaos/report.js';

const fault: Fault = { at: 10_000, kind: 'stop', target: 'edge london', pid: 1, downtimeMs: 3000 };
const res = (at: number, network: string, ...addresses: string[]): ResolutionSample => ({ at, network, addresses, unanswered: addresses.length === 0 ? 2 : 0 });
const req = (at: number, ok: boolean): RequestSample => ({ at, latencyMs: 100, ok, address: '127.0.0.11', retry: 'none', ...(ok ? {} : { error: 'ECONNREFUSED' }) });
const addressesOf = (label: string): string[] => (label === 'edge london' ? ['127.0.0.11'] : []);

describe('chaos report', () => {
  it('measures how long DNS kept sending the networks that were answered the faulted edge there, ignoring its return after a thaw', () => {
    const resolutions = [
      res(9000, 'london', '127.0.0.11'),
      res(9500, 'tokyo', '127.0.0.13'),
      res(10_400, 'london', '127.0.0.11'), // not yet moved
      res(11_200, 'london', '127.0.0.12'), // moved 1.2 s after the fault
      res(15_000, 'london', '127.0.0.11'), // back after the thaw: not a failure to move
    ];
    const [effect] = faultEffects([fault], [req(10_100, false), req(10_900, false), req(12_000, true)], resolutions, addressesOf, 20_000);
    expect(effect).toMatchObject({ dnsMovedAfterMs: 1200, failedRequests: 2, failedBy: { ECONNREFUSED: 2 }, errorsEndedAfterMs: 1000 });
  });

  it('says null when a network still had the faulted edge at the next fault, and 0 when no network had it', () => {
    expect(faultEffects([fault], [], [res(9000, 'london', '127.0.0.11'), res(11_000, 'london', '127.0.0.11')], addressesOf, 20_000)[0]!.dnsMovedAfterMs).toBeNull();
    expect(faultEffects([fault], [], [res(9000, 'tokyo', '127.0.0.13')], addressesOf, 20_000)[0]!.dnsMovedAfterMs).toBe(0);
  });

  it('buckets requests per second and counts purges lost as edges off the journal or with other pushed keys', () => {
    const t = timeline([req(100, true), req(900, false), req(1500, true)], 2000, new Map([[1, 4]]));
    expect(t.map((s) => [s.requests, s.errors, s.originRequestsPerSecond])).toEqual([[2, 1, null], [1, 0, 4]]);
    const c = convergence(5, [
      { name: 'a', lastSeq: 5, pushed: new Set(['/x "1"']) },
      { name: 'b', lastSeq: 4, pushed: new Set(['/x "1"']) },
      { name: 'c', lastSeq: 5, pushed: new Set(['/x "2"']) },
    ]);
    expect(c.purgesLost).toBe(2);
    expect(c.edges.map((e) => e.matches)).toEqual([true, false, false]);
  });

  it('counts the client DNS lookups no name server answered, and the questions each left unanswered, within a fault window', () => {
    const dnsFault: Fault = { at: 10_000, kind: 'stop', target: 'dns worker 4242', pid: 4242, downtimeMs: 4000 };
    const [effect] = faultEffects([dnsFault], [], [res(9000, 'london'), res(10_500, 'london'), res(11_000, 'tokyo'), res(12_000, 'tokyo', '127.0.0.13')], addressesOf, 20_000);
    expect(effect).toMatchObject({ dnsFailures: 2, dnsTimeouts: 4, dnsMovedAfterMs: null });
  });

  it('tells the kinds of process apart by label', () => {
    expect(['edge london', 'edge london worker 77', 'dns', 'dns ns2', 'dns worker 5', 'dns ns2 worker 6', 'origin', 'origin 127.0.0.2:8000', 'distributor'].map(targetClass)).toEqual([
      'edge',
      'edge worker',
      'dns',
      'dns',
      'dns worker',
      'dns worker',
      'origin',
      'origin replica',
      'other',
    ]);
  });

  it('sums faults per kind of process and signal, with (lower) median and maximum times', () => {
    const effect = (target: string, kind: Fault['kind'], errorsEndedAfterMs: number, dnsMovedAfterMs: number | null, failedRequests: number): FaultEffect => ({
      at: 0,
      kind,
      target,
      pid: 1,
      downtimeMs: 0,
      errorsEndedAfterMs,
      dnsMovedAfterMs,
      failedRequests,
      failedBy: failedRequests <= 1 ? (failedRequests === 1 ? { TIMEOUT: 1 } : {}) : { 'status 502': failedRequests - 1, TIMEOUT: 1 },
      dnsFailures: 0,
      dnsTimeouts: 0,
    });
    const byKind = summariseByKind([
      effect('edge london', 'kill', 1000, 800, 2),
      effect('origin 127.0.0.2:8000', 'stop', 5000, null, 4),
      effect('edge tokyo', 'kill', 3000, 1200, 1),
      effect('edge sydney', 'kill', 2000, null, 0),
      effect('edge paris', 'stop', 500, null, 1),
    ]);
    expect(byKind).toEqual([
      { target: 'edge', kind: 'kill', faults: 3, failedRequests: 3, failedBy: { 'status 502': 1, TIMEOUT: 2 }, dnsFailures: 0, dnsTimeouts: 0, errorsEndedAfterMs: { median: 2000, max: 3000 }, dnsMovedAfterMs: { median: 800, max: 1200, notMoved: 1 } },
      { target: 'origin replica', kind: 'stop', faults: 1, failedRequests: 4, failedBy: { 'status 502': 3, TIMEOUT: 1 }, dnsFailures: 0, dnsTimeouts: 0, errorsEndedAfterMs: { median: 5000, max: 5000 }, dnsMovedAfterMs: null },
      { target: 'edge', kind: 'stop', faults: 1, failedRequests: 1, failedBy: { TIMEOUT: 1 }, dnsFailures: 0, dnsTimeouts: 0, errorsEndedAfterMs: { median: 500, max: 500 }, dnsMovedAfterMs: { median: null, max: null, notMoved: 1 } },
    ]);
  });

  it('counts retries on another address apart from requests DNS gave no other address for, and prints them', () => {
    const r = (ok: boolean, retry: RequestSample['retry']): RequestSample => ({ at: 0, latencyMs: 1, ok, address: '127.0.0.12', retry });
    const retries = retryStats([r(true, 'none'), r(true, 'other-address'), r(false, 'other-address'), r(false, 'no-other-answer')]);
    expect(retries).toEqual({ otherAddress: 2, otherAddressOk: 1, noOtherAnswer: 1 });
    const text = formatReport({
      seed: 1,
      targets: ['edge london'],
      durationMs: 1000,
      requests: 4,
      failed: 2,
      failedBy: { TIMEOUT: 1, ECONNREFUSED: 1 },
      errorRate: 0.5,
      timeline: [],
      faults: [],
      byKind: [],
      retries,
      operations: { pushes: 1, purges: 0, failed: 2, failedBy: { 'status 503': 2 } },
      convergence: { journalSeq: 1, edges: [], purgesLost: 0 },
    });
    expect(text).toContain('operations refused or failed 2 (status 503: 2)');
    expect(text).toContain('2 on another address (1 succeeded), 1 not retried');
    expect(text).toContain('2 failed (50.00 %) (TIMEOUT: 1, ECONNREFUSED: 1)');
  });
});
