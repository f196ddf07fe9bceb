/**
 * `dnscdn up` end to end: a test deployment (free ports, short health interval) with three edges,
 * real child processes, real dig and curl. Killing the edge that answers moves the DNS answer to the
 * next nearest edge within interval x fall; with --restart it comes back.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from './pids.js';
import { scrapeMetrics } from './prometheus-scrape.js';
import { pidIn, ROOT, startUpDeployment, until, UP_TOKEN, type UpDeployment } from './up-deployment.js';

const run = promisify(execFile);
const INTERVAL_MS = 300;
const FALL = 2;
const RISE = 2;
const escaped = (host: string): string => host.replaceAll('.', '\\.');

function answerOf(digOutput: string): string[] {
  return [...digOutput.matchAll(/^www\.cdn\.test\.\s+\d+\s+IN\s+A\s+(\S+)$/gm)].map((m) => m[1]!);
}

describe('dnscdn up', () => {
  let u: UpDeployment;
  let DNS_HOST = '';
  let ORIGIN_HOST = '';
  let LONDON = '';
  let NEWYORK = '';
  let TOKYO = '';
  let dnsPort = 0;
  let edgePort = 0;
  let originPort = 0;
  const output = (): string => u.output();
  const dig = async (port: number, subnet: string): Promise<string> =>
    (await run('dig', [`@${DNS_HOST}`, '-p', String(port), 'www.cdn.test', 'A', `+subnet=${subnet}`, '+time=1', '+tries=1'])).stdout;

  beforeAll(async () => {
    // DNS gets an admin listener so that its /metrics can be scraped too.
    u = await startUpDeployment({ intervalMs: INTERVAL_MS, rise: RISE, fall: FALL, restart: true, dnsAdmin: true });
    ({ dns: DNS_HOST, origin: ORIGIN_HOST, london: LONDON, newyork: NEWYORK, tokyo: TOKYO } = u.hosts);
    ({ dnsPort, edgePort, originPort } = u);
    await until('up to be ready', 60_000, () => (/\[up\] ready[\s\S]*try:/.test(output()) ? true : undefined));
  }, 90_000);

  afterAll(async () => {
    if (u.up.exitCode === null) {
      u.up.kill('SIGKILL');
    }
  });

  const pidOf = (label: string): number => pidIn(output(), label);

  it('prints what listens where and the lines to try', () => {
    expect(output()).toMatch(new RegExp(`^dns\\s+\\d+\\s+${escaped(DNS_HOST)}:${dnsPort} udp\\+tcp`, 'm'));
    expect(output()).toMatch(new RegExp(`^edge london\\s+\\d+\\s+http://${escaped(LONDON)}:${edgePort}`, 'm'));
    expect(output()).toContain(`dig @${DNS_HOST} -p ${dnsPort} www.cdn.test +subnet=81.2.69.0/24`);
  });

  it('answers the nearest edge with the ECS scope, serves through it, moves away when it dies and returns after restart', async () => {
    const london = await dig(dnsPort, '81.2.69.0/24');
    expect(answerOf(london)).toEqual([LONDON]);
    expect(london).toMatch(/CLIENT-SUBNET: 81\.2\.69\.0\/24\/24/);
    expect(answerOf(await dig(dnsPort, '133.242.0.0/24'))).toEqual([TOKYO]);

    const curl = async (): Promise<string> =>
      (await run('curl', ['-si', '--max-time', '5', '--resolve', `www.cdn.test:${edgePort}:${LONDON}`, `http://www.cdn.test:${edgePort}/`])).stdout;
    expect(await curl()).toMatch(/x-cache: MISS/i);
    expect(await curl()).toMatch(/x-cache: HIT/i);

    const londonPid = pidOf('edge london');
    process.kill(londonPid, 'SIGKILL');
    const killedAt = Date.now();
    const moved = await until('the answer to leave london', 20_000, async () => {
      const a = answerOf(await dig(dnsPort, '81.2.69.0/24'));
      return a[0] !== LONDON ? a : undefined;
    });
    const elapsed = Date.now() - killedAt;
    // Next nearest to London is New York.
    expect(moved).toEqual([NEWYORK]);
    // interval x fall, plus one interval for probe phase, plus a margin for a loaded 2-core machine.
    expect(elapsed).toBeLessThan(INTERVAL_MS * (FALL + 1) + 3000);
    expect(output()).toMatch(/\[up\] edge london \(pid \d+\) exited with signal SIGKILL; restarting/);

    await until('london to be restarted', 20_000, async () => (/\[up\] edge london restarted as pid \d+/.test(output()) ? true : undefined));
    await until('the answer to return to london', 30_000, async () => {
      const a = answerOf(await dig(dnsPort, '81.2.69.0/24'));
      return a[0] === LONDON ? a : undefined;
    });
  }, 90_000);

  it('serves /metrics and the push API on admin listeners only: the public /metrics is not the metrics page', async () => {
    const londonAdmin = `http://${LONDON}:${edgePort + 1000}`;
    expect(output()).toMatch(new RegExp(`^edge london\\s+\\d+\\s+http://${escaped(LONDON)}:${edgePort}\\s+${escaped(londonAdmin)}/metrics`, 'm'));
    expect(output()).toContain(`curl -s ${londonAdmin}/metrics`);
    const publicMetrics = await run('curl', ['-s', '-w', '\\n%{http_code}', `http://${LONDON}:${edgePort}/metrics`]);
    expect(publicMetrics.stdout).not.toContain('dnscdn_edge_requests_total');
    expect(publicMetrics.stdout.endsWith('\n404')).toBe(true);
    const adminMetrics = await run('curl', ['-s', `${londonAdmin}/metrics`]);
    expect(adminMetrics.stdout).toContain('dnscdn_edge_requests_total');
    // The CLI pushes to the origin's admin listener; the edges receive it on theirs.
    const pushed = await run(process.execPath, [join(ROOT, 'bin/dnscdn.js'), 'push', '--admin-url', u.originAdminUrl, '--token', UP_TOKEN, '/index.html']);
    expect(pushed.stdout).toMatch(/^seq \d+\tput\t\/index\.html\n$/);
    const publicPush = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', `Authorization: Bearer ${UP_TOKEN}`, '-d', '{"paths":["/index.html"]}', `http://${ORIGIN_HOST}:${originPort}/.dnscdn/push`]);
    expect(publicPush.stdout).toBe('405'); // the public port serves content only (GET, HEAD)
  }, 30_000);

  it('every role exports the process and Node.js metrics with its role (and edge) label on its admin /metrics', async () => {
    const rows = [...output().matchAll(/^(dns|origin|distributor|edge \w+)\s+\d+\s.*?(http:\/\/\S+\/metrics)/gm)].map((m) => ({ label: m[1]!, url: m[2]! }));
    expect(rows.map((r) => r.label).sort()).toEqual(['dns', 'edge london', 'edge newyork', 'edge tokyo', 'origin']);
    for (const { label, url } of rows) {
      const names = [...(await scrapeMetrics(url)).keys()];
      const processSamples = names.filter((n) => n.startsWith('process_'));
      expect(processSamples.length, label).toBeGreaterThan(0);
      expect(names.filter((n) => n.startsWith('nodejs_')).length, label).toBeGreaterThan(0);
      const [role, edge] = label.split(' ');
      for (const n of processSamples) expect(n, label).toContain(`role="${role}"`);
      if (edge) for (const n of processSamples) expect(n, label).toContain(`edge="${edge}"`);
    }
  }, 30_000);

  it('stops every child on SIGTERM', async () => {
    const pids = [...output().matchAll(/^(?:dns|origin|edge \w+)\s+(\d+)/gm)].map((m) => Number(m[1]));
    expect(pids.length).toBe(5);
    const restarted = [...output().matchAll(/restarted as pid (\d+)/g)].map((m) => Number(m[1]));
    const exited = new Promise<number | null>((resolve) => u.up.once('exit', (code) => resolve(code)));
    u.up.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of [...pids, ...restarted]) expect(alive(pid)).toBe(false);
  }, 30_000);
});
