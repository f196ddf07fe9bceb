/**
 * The dashboard in a real browser: `dnscdn up` runs a three-edge deployment (real child processes), and Debian's
 * headless Chromium, driven by playwright-core, opens the page on the DNS admin listener. All edges appear on
 * the map; a killed edge turns red within the health window, without a reload (the page only listens to its
 * event stream); a push shows in the feed. On failure a screenshot goes to test/artifacts/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pidIn, ROOT, startUpDeployment, until, UP_TOKEN, type UpDeployment } from './up-deployment.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const INTERVAL_MS = 300;
const FALL = 2;

describe('dashboard in Chromium', () => {
  let u: UpDeployment;
  let browser: Browser;
  let page: Page;
  let dashboardUrl = '';

  beforeAll(async () => {
    u = await startUpDeployment({ intervalMs: INTERVAL_MS, rise: 2, fall: FALL, dnsAdmin: true });
    dashboardUrl = `http://${u.hosts.dns}:${u.dnsAdminPort!}/dashboard`;
    await until('up to be ready', 60_000, () => (/\[up\] ready[\s\S]*dashboard:/.test(u.output()) ? true : undefined));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
  }, 90_000);

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail' || !page) return;
    const dir = join(ROOT, 'test', 'artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `dashboard-${context.task.name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    if (u && u.up.exitCode === null) u.up.kill('SIGKILL');
  });

  it('is linked from the start-up table and shows every edge on the map and in the table', async () => {
    expect(u.output()).toContain(`dashboard: ${dashboardUrl}`);
    await page.goto(dashboardUrl);
    await page.waitForSelector('g.edge[data-edge="tokyo"]', { timeout: 10_000 });
    const names = await Promise.all((await page.locator('g.edge').all()).map((g) => g.getAttribute('data-edge')));
    expect(names.sort()).toEqual(['london', 'newyork', 'tokyo']);
    await page.waitForSelector('#edge-table tr[data-edge="london"][data-health="up"]', { timeout: 10_000 });
    // The map has land on it (Natural Earth outline) and the pool's answers for the sample networks.
    expect((await page.locator('path.land').getAttribute('d'))!.length).toBeGreaterThan(10_000);
    await page.waitForSelector('#pools td:text("81.2.69.0/24")', { timeout: 5_000 });
  });

  it('turns a killed edge red within the health window, without a reload', async () => {
    await page.evaluate('window.loadedOnce = true');
    const pid = pidIn(u.output(), 'edge london');
    process.kill(pid, 'SIGKILL');
    const started = Date.now();
    // interval x fall for the DNS probes, then at most one snapshot (1 s) for the page to hear of it.
    await page.waitForSelector('g.edge[data-edge="london"][data-health="down"]', { timeout: INTERVAL_MS * FALL + 4_000 });
    expect(Date.now() - started).toBeLessThan(INTERVAL_MS * FALL + 4_000);
    expect(await page.evaluate('window.loadedOnce')).toBe(true);
    expect(await page.locator('g.edge[data-edge="tokyo"]').getAttribute('data-health')).toBe('up');
    await page.waitForSelector('#feed li[data-kind="health"]:has-text("london down")', { timeout: 5_000 });
  });

  it('shows a push in the feed', async () => {
    await run(process.execPath, [join(ROOT, 'bin/dnscdn.js'), 'push', '/index.html', '--admin-url', u.originAdminUrl, '--token', UP_TOKEN]);
    await page.waitForSelector('#feed li[data-kind="push"]:has-text("/index.html")', { timeout: 10_000 });
  });
});
