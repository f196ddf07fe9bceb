import { describe, expect, it } from 'vitest';
import { latencySummary, parseDnsperf } from '../../bench/dnsperf.js';
import { median, percentile } from '../../bench/proc.js';
import { functionTimes } from '../../bench/profile-summary.js';
import { formatTable } from '../../bench/report.js';
import { parseWrk } from '../../bench/wrk.js';
import { dnsperfQueryFile, QUERY_MIX } from '../../bench/dns-queries.js';

// Output shapes as printed by dnsperf 2.10 and wrk 4.1 on this machine.
const DNSPERF = `[Status] Sending queries (to 127.0.0.1:5402)
> NOERROR rr.cdn.test A 0.000167
> NXDOMAIN missing1.cdn.test A 0.000133
> NOERROR rr.cdn.test A 0.000250
Statistics:

  Queries sent:         3
  Queries completed:    3 (100.00%)
  Queries lost:         0 (0.00%)

  Response codes:       NOERROR 2 (66.67%), NXDOMAIN 1 (33.33%)
  Average packet size:  request 29, reply 89
  Run time (s):         1.000100
  Queries per second:   2.999700

  Average Latency (s):  0.000183 (min 0.000133, max 0.000250)
  Latency StdDev (s):   0.000050
`;

const WRK = `Running 2s test @ http://127.0.0.1:8080/1k
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.19ms    5.10ms  60.00ms   97.00%
    Req/Sec    26.10k     1.20k   28.00k    80.00%
  Latency Distribution
     50%    2.19ms
     75%    2.50ms
     90%    3.00ms
     99%   39.51ms
  52000 requests in 2.00s, 69.60MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  26012.00
Transfer/sec:     34.80MB
`;

describe('parseDnsperf', () => {
  it('reads the summary and the per-query latencies of a verbose run', () => {
    const r = parseDnsperf(DNSPERF);
    expect(r.qps).toBeCloseTo(2.9997, 4);
    expect(r.sent).toBe(3);
    expect(r.completed).toBe(3);
    expect(r.lostPercent).toBe(0);
    expect(r.avgLatencyMs).toBeCloseTo(0.183, 6);
    expect(Array.from(r.latenciesMs, (ms) => Math.round(ms * 1000) / 1000)).toEqual([0.133, 0.167, 0.25]);
    expect(latencySummary(r.latenciesMs)).toEqual({ p50: 0.167, p90: 0.25, p99: 0.25, p999: 0.25 });
  });
});

describe('parseWrk', () => {
  it('reads throughput, transfer, percentiles and errors', () => {
    expect(parseWrk(WRK)).toEqual({ rps: 26012, mbPerSecond: 34.8, p50Ms: 2.19, p99Ms: 39.51, requests: 52000, errors: 7 });
  });

  it('converts microseconds, seconds and KB', () => {
    const r = parseWrk('     50%  870.00us\n     99%    1.20s\nRequests/sec:  10.0\nTransfer/sec:    512.00KB\n');
    expect(r.p50Ms).toBeCloseTo(0.87, 6);
    expect(r.p99Ms).toBe(1200);
    expect(r.mbPerSecond).toBe(0.5);
  });
});

describe('statistics and tables', () => {
  it('takes medians and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
  });

  it('aligns columns, numbers to the right', () => {
    expect(formatTable(['name', 'q/s'], [['a', 5], ['bbb', 1234]])).toBe('name   q/s\n----  ----\na        5\nbbb   1234');
  });
});

describe('dnsperfQueryFile', () => {
  it('is reproducible and follows the documented shares', () => {
    const text = dnsperfQueryFile(20_000, 7);
    expect(dnsperfQueryFile(20_000, 7)).toBe(text);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(20_000);
    const nx = lines.filter((l) => l.startsWith('missing')).length / lines.length;
    expect(Math.abs(nx - QUERY_MIX.find((c) => c.label === 'nxdomain')!.share)).toBeLessThan(0.01);
    const shape = /^([\w-]+\.)*cdn\.test (A|AAAA|SOA|NS|MX|TXT|SRV)$/;
    expect(lines.filter((l) => !shape.test(l))).toEqual([]);
  });
});

describe('functionTimes', () => {
  const frame = (functionName: string, line: number): { functionName: string; url: string; lineNumber: number } => ({ functionName, url: 'node:dgram', lineNumber: line });
  // root -> onMessage -> doSend (twice as separate nodes), and a recursive walk -> walk.
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', 0), children: [4, 5] },
      { id: 2, callFrame: frame('doSend', 686) },
      { id: 3, callFrame: frame('doSend', 686) },
      { id: 4, callFrame: frame('onMessage', 944), children: [2, 3] },
      { id: 5, callFrame: frame('walk', 9), children: [6] },
      { id: 6, callFrame: frame('walk', 9) },
    ],
    samples: [2, 3, 3, 4, 6, 6, 5, 6],
  };

  it('merges self samples per function, largest first', () => {
    expect(functionTimes(profile)).toEqual([
      { name: 'doSend', where: 'node:dgram:687', percent: 37.5 },
      { name: 'walk', where: 'node:dgram:10', percent: 50 },
      { name: 'onMessage', where: 'node:dgram:945', percent: 12.5 },
    ].sort((a, b) => b.percent - a.percent));
  });

  it('counts callees in total time, a recursive function once', () => {
    const total = functionTimes(profile, 'total');
    expect(total.find((f) => f.name === '(root)')!.percent).toBe(100);
    expect(total.find((f) => f.name === 'onMessage')!.percent).toBe(50);
    expect(total.find((f) => f.name === 'walk')!.percent).toBe(50);
  });
});
