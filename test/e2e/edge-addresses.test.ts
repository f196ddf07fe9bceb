/**
 * A dual-stack edge started as a user starts it (`dnscdn edge` with a comma list of addresses), reached with curl
 * on IPv4 and on IPv6: one process, one cache, both listeners.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, stopCli, eventually, type Proc } from '../push/processes.js';
import { freePortOn, privateLoopback } from '../net/loopback.js';
import { startOrigin, fixed, type TestOrigin } from '../edge/harness.js';

const run = promisify(execFile);

describe('dnscdn edge --listen with an IPv4 and an IPv6 address', () => {
  const v4 = privateLoopback();
  let port = 0;
  let edge: Proc;
  let origin: TestOrigin;

  beforeAll(async () => {
    origin = await startOrigin();
    origin.on('/hello', fixed(200, { 'cache-control': 'max-age=60' }, 'hello\n'));
    // The same port on both addresses (as an edge with `addresses: [v4, ::1]` and one `port` binds them): the
    // kernel's pick on the shared ::1, which is then free on our private IPv4 address too (nothing else uses it).
    port = await freePortOn('::1');
    edge = startCli(['edge', '--listen', `${v4}:${port},[::1]:${port}`, '--origin', origin.url, '--admin-listen', `${v4}:0`, '--name', 'dual']);
    await eventually(async () => /listening on/.test(edge.output()), 20_000, () => edge.output());
  }, 30_000);

  afterAll(async () => {
    await stopCli(edge);
    await origin.close();
  });

  it('answers on both addresses from one cache', async () => {
    expect(edge.output()).toContain(`listening on http://${v4}:${port} http://[::1]:${port}`);
    const overV4 = await run('curl', ['-si', '--max-time', '5', '-H', 'Host: cdn.test', `http://${v4}:${port}/hello`]);
    const overV6 = await run('curl', ['-si', '-g', '--max-time', '5', '-H', 'Host: cdn.test', `http://[::1]:${port}/hello`]);
    expect(overV4.stdout).toMatch(/x-cache: MISS/i);
    expect(overV6.stdout).toMatch(/x-cache: HIT/i);
    expect(overV6.stdout).toMatch(/\r\n\r\nhello\n$/);
    expect(origin.count('/hello')).toBe(1);
  });
});
