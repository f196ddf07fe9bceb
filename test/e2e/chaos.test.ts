/**
 * `dnscdn chaos` end to end, the short run: a three-edge deployment with an origin replica, on loopback addresses
 * of the test's own, 60 s of client load while edges and the replica are killed or frozen at random (fixed seed),
 * pushes and purges arriving all the while. No acknowledged purge may be lost, and the clients' errors must stop
 * within the health window after each fault.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ChaosReport } from '../../src/chaos/report.js';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { ROOT } from './up-deployment.js';

const run = promisify(execFile);
const INTERVAL_MS = 300;
const FALL = 2;
const TTL_S = 1;
/**
 * Edges, the origin replica, edge workers and DNS workers. DNS workers were left out until a frozen (SIGSTOP) one
 * was found and killed: the DNS primary now pings its workers and SIGKILLs and restarts one that stops answering
 * (dns.workerLiveness, 1 s x 3 by default), so a freeze of 1-5 s here costs the clients at most the TCP
 * connections that worker held, for ~3 s (the clients ask over UDP, which the other worker reads in full).
 */
const TARGETS = '^edge \\S+$|^origin \\S+:\\d+$|^edge .* worker \\d+$|^dns worker \\d+$';

describe('dnscdn chaos (60 s)', () => {
  it('loses no acknowledged purge, and DNS stops answering a faulted edge within the health window', async () => {
    const [dns, origin, replica, london, newyork, tokyo] = privateLoopbacks(6) as [string, string, string, string, string, string];
    const dnsPort = await freePortOn(dns);
    const edgePort = await freePortOn(london);
    const originPort = await freePortOn(origin);
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-chaos-'));
    const file = join(dir, 'chaos.yaml');
    writeFileSync(
      file,
      `dns:
  listen: [${dns}:${dnsPort}]
  zones: ${join(ROOT, 'zones')}
edgeDefaults:
  port: ${edgePort}
  health: { interval: ${INTERVAL_MS}ms, timeout: 200ms, rise: 2, fall: ${FALL} }
  cache: { maxBytes: 16MB }
  origin: { servers: [{ url: "http://${origin}:${originPort}" }, { url: "http://${replica}:${originPort}" }], health: { interval: ${INTERVAL_MS}ms, timeout: 200ms, rise: 2, fall: ${FALL} } }
edges:
  london: { addresses: [${london}], location: { lat: 51.507, lon: -0.128 } }
  newyork: { addresses: [${newyork}], location: { lat: 40.713, lon: -74.006 } }
  tokyo: { addresses: [${tokyo}], location: { lat: 35.690, lon: 139.692 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [london, newyork, tokyo], ttl: ${TTL_S} }
origin:
  listen: ${origin}:${originPort}
  replicas: [${replica}:${originPort}]
  content: ${join(ROOT, 'content')}
  rules:
    - { match: "*.html", cacheControl: "public, max-age=60" }
    - { match: "/img/**", cacheControl: "public, max-age=600", surrogateKeys: [images] }
distribution:
  journal: ${join(dir, 'journal')}
admin:
  tokens: [chaos-e2e-token]
`,
    );
    const reportFile = join(dir, 'report.json');
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'bin/dnscdn.js'), 'chaos', '--config', file, '--duration', '60s', '--seed', '7', '--clients', '8', '--fault-interval', '6s', '--targets', TARGETS, '--report', reportFile],
      { cwd: dir, env: { ...process.env, DNSCDN_LOG: 'error' }, timeout: 150_000 },
    );
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ChaosReport;
    expect(stdout).toContain('purges lost 0');
    expect(report.convergence.purgesLost).toBe(0);
    expect(report.convergence.edges.map((e) => e.lastSeq)).toEqual([report.convergence.journalSeq, report.convergence.journalSeq, report.convergence.journalSeq]);
    expect(report.operations.pushes + report.operations.purges).toBeGreaterThan(10);
    // The origin (push, purge) is never faulted here: an operation may time out under load, but none is malformed.
    expect(Object.keys(report.operations.failedBy).filter((reason) => /^status 4/.test(reason))).toEqual([]);
    expect(report.faults.length).toBeGreaterThanOrEqual(5);
    expect(report.requests).toBeGreaterThan(1000);
    // The health window: a dead or frozen edge leaves DNS answers within interval x fall (plus a probe's phase and
    // timeout); clients hold an answer for the TTL. 6 s of slack: with the whole suite running on 2 cores (load
    // average ~20) probes were measured running up to ~5 s late. Without health checks DNS would never move
    // (null). How long client errors lasted is reported (errorsEndedAfterMs) but not bounded: see issue 17's note.
    const window = INTERVAL_MS * (FALL + 1) + 200 + TTL_S * 1000 + 6000;
    // A fault in the run's last window has no time left to be measured (the report says null: not moved yet).
    const edgeFaults = report.faults.filter((f) => /^edge \S+$/.test(f.target) && f.at <= report.durationMs - window);
    expect(edgeFaults.filter((f) => f.kind === 'kill').length).toBeGreaterThan(0);
    for (const f of edgeFaults) {
      // A freeze shorter than the window may end before the probes (late under load) judge the edge: then DNS need
      // not move, and the report says null (seed 7 has a 1.6 s freeze that did this at a load average of 33).
      if (f.kind === 'kill' || f.downtimeMs > window) expect(f.dnsMovedAfterMs, `${f.kind} ${f.target} at ${f.at} ms`).not.toBeNull();
      if (f.dnsMovedAfterMs !== null) expect(f.dnsMovedAfterMs, `${f.kind} ${f.target} at ${f.at} ms`).toBeLessThanOrEqual(window);
    }
    expect(report.errorRate).toBeLessThan(0.05);
  }, 180_000);
});
