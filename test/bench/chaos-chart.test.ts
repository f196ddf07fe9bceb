import { describe, expect, it } from 'vitest';
import { chaosChart, faultSpikes } from '../../bench/chaos.js';
import type { ChaosReport } from '../../src/chaos/report.js';

const report: ChaosReport = {
  seed: 3,
  targets: ['edge london'],
  durationMs: 30_000,
  requests: 300,
  failed: 3,
  failedBy: { ECONNREFUSED: 3 },
  errorRate: 0.01,
  timeline: Array.from({ length: 30 }, (_, second) => ({ second, requests: 10, errors: second === 12 ? 3 : 0, errorRate: second === 12 ? 0.3 : 0, p50Ms: 2, p99Ms: second === 12 ? 900 : 8, originRequestsPerSecond: 4 })),
  faults: [{ at: 11_500, kind: 'kill', target: 'edge london', pid: 1, downtimeMs: 0, dnsMovedAfterMs: 700, errorsEndedAfterMs: 1400, failedRequests: 3, failedBy: { ECONNREFUSED: 3 }, dnsFailures: 0, dnsTimeouts: 0 }],
  byKind: [],
  retries: { otherAddress: 0, otherAddressOk: 0, noOtherAnswer: 3 },
  operations: { pushes: 5, purges: 2, failed: 0, failedBy: {} },
  convergence: { journalSeq: 7, edges: [{ name: 'london', lastSeq: 7, matches: true }], purgesLost: 0 },
};

describe('bench:chaos chart', () => {
  it('marks each fault as one spike to the top of the panel, one series per kind of fault', () => {
    expect(faultSpikes(report, 50)).toEqual([{ name: 'SIGKILL (restarted)', style: 'dotted', points: [[0, 0], [11.5, 0], [11.5, 50], [11.5, 0]] }]);
    const both = faultSpikes({ faults: [...report.faults, { ...report.faults[0]!, at: 20_000, kind: 'stop', downtimeMs: 2000 }] }, 50);
    expect(both.map((s) => [s.name, s.points.length])).toEqual([['SIGKILL (restarted)', 4], ['SIGSTOP (frozen, then SIGCONT)', 4]]);
  });

  it('draws errors, latency and origin requests on a timeline, with the totals in the title', () => {
    const svg = chaosChart(report);
    // The renderer wraps long titles: check its parts.
    for (const part of ['seed 3', '1 faults', 'purges lost 0']) expect(svg).toContain(part);
    for (const title of ['client errors', 'client latency', 'origin requests', 'SIGKILL (restarted)']) expect(svg).toContain(title);
  });
});
