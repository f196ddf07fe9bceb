/**
 * `dnscdn edge` flags: without `--config` they build the options alone; next to `--config`, each flag given
 * overrides its key of the deployment file, and a flag not given leaves the file's value (no hidden default).
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { originPoolOf } from '../../src/config/origin-pool.js';
import { edgeCommand } from '../../src/edge/command.js';
import type { EdgeRoleOptions } from '../../src/edge/setup.js';
import { parsedOptions, ROLE_FLAGS_DEPLOYMENT, writeDeployment } from '../config/role-flags.js';

const file = writeDeployment();
const parse = (args: string[]): Promise<EdgeRoleOptions> => parsedOptions(edgeCommand, args);
const fromFile = (...extra: string[]): Promise<EdgeRoleOptions> => parse(['--config', file, '--name', 'london', ...extra]);

describe('dnscdn edge --config FILE', () => {
  it('takes every setting from the file when no other flag is given', async () => {
    const o = await fromFile();
    expect(o.server).toEqual({
      listen: [{ host: '127.0.0.11', port: 18081 }],
      origin: originPoolOf(['http://127.0.0.1:18000']),
      maxBytes: 64e6,
      maxObjectBytes: 2e6,
      expectedObjectBytes: 16_384,
      ignoreCookies: ['_ga*'],
      cachePolicy: 's3-fifo',
      name: 'london',
      adminListen: { host: '127.0.0.21', port: 18181 },
      purgeAllow: ['10.0.0.0/8'],
      adminToken: 'file-token-123',
    });
    expect(o.push).toEqual({ distributor: 'http://127.0.0.1:18101', stateDir: join(dirname(file), 'state/edges/london'), token: 'file-token-123' });
  });

  const overrides: Array<{ flag: string; value: string; read: (o: EdgeRoleOptions) => unknown; expected: unknown }> = [
    { flag: '--listen', value: '127.0.0.99:9999,[::1]:9999', read: (o) => o.server.listen, expected: [{ host: '127.0.0.99', port: 9999 }, { host: '::1', port: 9999 }] },
    { flag: '--origin', value: 'http://127.0.0.1:9000', read: (o) => o.server.origin, expected: originPoolOf(['http://127.0.0.1:9000']) },
    { flag: '--origin-policy', value: 'least-connections', read: (o) => typeof o.server.origin === 'object' && o.server.origin.policy, expected: 'least-connections' },
    { flag: '--origin-retries', value: '0', read: (o) => typeof o.server.origin === 'object' && o.server.origin.retries, expected: 0 },
    { flag: '--origin-header-timeout', value: '750ms', read: (o) => typeof o.server.origin === 'object' && o.server.origin.headerTimeoutMs, expected: 750 },
    { flag: '--sticky-cookie', value: 'srv', read: (o) => typeof o.server.origin === 'object' && o.server.origin.sticky, expected: { cookie: 'srv' } },
    { flag: '--max-bytes', value: '1MB', read: (o) => o.server.maxBytes, expected: 1e6 },
    { flag: '--max-object-bytes', value: '10KiB', read: (o) => o.server.maxObjectBytes, expected: 10_240 },
    { flag: '--expected-object-bytes', value: '1MiB', read: (o) => o.server.expectedObjectBytes, expected: 1_048_576 },
    { flag: '--origin-timeout', value: '1500ms', read: (o) => o.server.originTimeoutMs, expected: 1500 },
    { flag: '--origin-timeout', value: '2s', read: (o) => o.server.originTimeoutMs, expected: 2000 },
    { flag: '--origin-timeout', value: '1500', read: (o) => o.server.originTimeoutMs, expected: 1500 }, // deprecated: bare milliseconds
    { flag: '--ignore-cookies', value: '_gid, consent', read: (o) => o.server.ignoreCookies, expected: ['_gid', 'consent'] },
    { flag: '--cache-policy', value: 'lru', read: (o) => o.server.cachePolicy, expected: 'lru' },
    { flag: '--admin-listen', value: '127.0.0.31:9999', read: (o) => o.server.adminListen, expected: { host: '127.0.0.31', port: 9999 } },
    { flag: '--purge-allow', value: '192.0.2.0/24, 2001:db8::/32', read: (o) => o.server.purgeAllow, expected: ['192.0.2.0/24', '2001:db8::/32'] },
    { flag: '--token', value: 'flag-token-456', read: (o) => [o.server.adminToken, o.push?.token], expected: ['flag-token-456', 'flag-token-456'] },
    { flag: '--admin-token', value: 'flag-token-456', read: (o) => [o.server.adminToken, o.push?.token], expected: ['flag-token-456', 'flag-token-456'] }, // deprecated spelling
    { flag: '--distributor', value: 'http://127.0.0.1:9100', read: (o) => o.push?.distributor, expected: 'http://127.0.0.1:9100' },
    { flag: '--state-dir', value: '/var/lib/dnscdn/london', read: (o) => o.push?.stateDir, expected: '/var/lib/dnscdn/london' },
  ];
  for (const { flag, value, read, expected } of overrides) {
    it(`${flag} overrides the file`, async () => {
      expect(read(await fromFile())).not.toEqual(expected);
      expect(read(await fromFile(flag, value))).toEqual(expected);
    });
  }

  it('--name picks the edge, and names it', async () => {
    const o = await parse(['--config', file, '--name', 'tokyo']);
    // tokyo has no admin key: loopback beside its public listener, port + 1000.
    expect(o.server).toMatchObject({ name: 'tokyo', listen: [{ host: '127.0.0.12', port: 18082 }], adminListen: { host: '127.0.0.12', port: 19082 } });
    await expect(parse(['--config', file, '--name', 'paris'])).rejects.toThrow(/no edge named "paris" \(edges: london, tokyo\)/);
  });

  it('a token from the flag or the environment makes the edge take part in push when the file has none', async () => {
    const noTokens = writeDeployment(ROLE_FLAGS_DEPLOYMENT.replace(/\nadmin:[\s\S]*$/, '\n'));
    const bare = await parse(['--config', noTokens, '--name', 'london']);
    expect(bare.push).toBeUndefined();
    expect(bare.server.adminToken).toBeUndefined();
    const flagged = await parse(['--config', noTokens, '--name', 'london', '--admin-token', 'flag-token-456']);
    expect(flagged.push).toEqual({ distributor: 'http://127.0.0.1:18101', stateDir: join(dirname(noTokens), 'state/edges/london'), token: 'flag-token-456' });
    process.env.DNSCDN_ADMIN_TOKEN = 'env-token-789';
    try {
      expect((await parse(['--config', noTokens, '--name', 'london'])).push?.token).toBe('env-token-789');
    } finally {
      delete process.env.DNSCDN_ADMIN_TOKEN;
    }
  });

  it('the environment token does not override the file (up passes its environment to every child)', async () => {
    process.env.DNSCDN_ADMIN_TOKEN = 'env-token-789';
    try {
      expect((await fromFile()).server.adminToken).toBe('file-token-123');
      expect((await parse(['--listen', '127.0.0.1:0', '--origin', 'http://127.0.0.1:1'])).server.adminToken).toBe('env-token-789');
    } finally {
      delete process.env.DNSCDN_ADMIN_TOKEN;
    }
  });

  it('refuses a bad value with the flag named', async () => {
    await expect(fromFile('--origin-timeout', 'soon')).rejects.toThrow(/--origin-timeout: "soon" is not a duration/);
    await expect(fromFile('--max-bytes', 'lots')).rejects.toThrow(/bad size "lots"/);
    await expect(fromFile('--cache-policy', 'lfu')).rejects.toThrow(/unknown cache policy "lfu" \(one of lru, w-tinylfu, s3-fifo\)/);
    await expect(fromFile('--origin-header-timeout', '2')).rejects.toThrow(/bad --origin-header-timeout: "2": give a unit/);
  });
});

describe('dnscdn edge without --config', () => {
  it('needs --listen and --origin, and fills the defaults', async () => {
    await expect(parse(['--listen', '127.0.0.1:0'])).rejects.toThrow(/--listen and --origin are required/);
    const o = await parse(['--listen', '127.0.0.1:0', '--origin', 'http://127.0.0.1:8000']);
    expect(o.server).toEqual({ listen: [{ host: '127.0.0.1', port: 0 }], origin: originPoolOf(['http://127.0.0.1:8000']), maxBytes: 256e6, originTimeoutMs: 10_000, adminListen: { host: '127.0.0.1', port: 0 } });
    expect(o.push).toBeUndefined();
  });

  it('puts the admin listener beside the public one (port + 1000) unless --admin-listen names it', async () => {
    const base = ['--origin', 'http://127.0.0.1:8000'];
    expect((await parse(['--listen', '127.0.0.11:8080', ...base])).server.adminListen).toEqual({ host: '127.0.0.11', port: 9080 });
    expect((await parse(['--listen', '0.0.0.0:8080', ...base])).server.adminListen).toEqual({ host: '127.0.0.1', port: 9080 });
    await expect(parse(['--listen', '127.0.0.1:65000', ...base])).rejects.toThrow(/--admin-listen is required/);
    expect((await parse(['--listen', '127.0.0.1:65000', '--admin-listen', '127.0.0.1:9999', ...base])).server.adminListen).toEqual({ host: '127.0.0.1', port: 9999 });
  });

  it('push needs a token, and keeps its state under var/edges/NAME by default, as the deployment file does', async () => {
    const base = ['--listen', '127.0.0.1:0', '--origin', 'http://127.0.0.1:8000', '--name', 'x', '--distributor', 'http://127.0.0.1:8100'];
    await expect(parse(base)).rejects.toThrow(/need the admin token/);
    expect((await parse([...base, '--admin-token', 'flag-token-456'])).push).toEqual({ distributor: 'http://127.0.0.1:8100', stateDir: 'var/edges/x', token: 'flag-token-456' });
  });
});

describe('dnscdn edge TLS flags', () => {
  it('--tls-listen with --tls-cert/--tls-key pairs (comma list or repeated) build the HTTPS listener', async () => {
    const o = await parse(['--listen', '127.0.0.1:8080', '--origin', 'http://127.0.0.1:8000', '--tls-listen', '127.0.0.1:8443', '--tls-cert', '/c/a.pem,/c/b.pem', '--tls-key', '/c/a.key', '--tls-key', '/c/b.key']);
    expect(o.server.tls).toEqual({
      listen: [{ host: '127.0.0.1', port: 8443 }],
      certificates: [
        { cert: '/c/a.pem', key: '/c/a.key' },
        { cert: '/c/b.pem', key: '/c/b.key' },
      ],
    });
  });

  it('--tls-listen takes several addresses (comma list or repeated), as --listen does', async () => {
    const o = await parse(['--listen', '127.0.0.1:8080,[::1]:8080', '--origin', 'http://127.0.0.1:8000', '--tls-listen', '127.0.0.1:8443,[::1]:8443', '--tls-listen', '127.0.0.2:8443', '--tls-cert', '/c/a.pem', '--tls-key', '/c/a.key']);
    expect(o.server.tls?.listen).toEqual([
      { host: '127.0.0.1', port: 8443 },
      { host: '::1', port: 8443 },
      { host: '127.0.0.2', port: 8443 },
    ]);
  });

  it('refuses certificates and keys that do not pair up, and a listener without a certificate', async () => {
    await expect(parse(['--listen', '127.0.0.1:8080', '--origin', 'http://x', '--tls-listen', '127.0.0.1:8443', '--tls-cert', '/a.pem'])).rejects.toThrow(/pair up by position: 1 certificate\(s\), 0 key\(s\)/);
    await expect(parse(['--listen', '127.0.0.1:8080', '--origin', 'http://x', '--tls-listen', '127.0.0.1:8443'])).rejects.toThrow(/needs a certificate/);
  });
});
