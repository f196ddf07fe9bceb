import { describe, expect, it } from 'vitest';
import type { RequestSample, ResolutionSample } from '../../src/chaos/clients.js';
import type { Fault } from '../../src/chaos/faults.js';
import { convergence, faultEffects, timeline } from '../../src/chaos/report.js';

const fault: Fault = { at: 10_000, kind: 'stop', target: 'edge london', pid: 1, downtimeMs: 3000 };
const res = (at: number, network: string, ...addresses: string[]): ResolutionSample => ({ at, network, addresses });
const req = (at: number, ok: boolean): RequestSample => ({ at, latencyMs: 100, ok, address: '127.0.0.11', retried: false });
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
    expect(effect).toMatchObject({ dnsMovedAfterMs: 1200, failedRequests: 2, errorsEndedAfterMs: 1000 });
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
});
