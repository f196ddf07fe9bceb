/**
 * `dnscdn origin` flags: next to `--config`, each flag given overrides its key of the deployment file, and a flag
 * not given leaves the file's value (no hidden default).
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { originCommand } from '../../src/origin/command.js';
import type { OriginRoleOptions } from '../../src/origin/setup.js';
import { parsedOptions, writeDeployment } from '../config/role-flags.js';

const file = writeDeployment();
const parse = (args: string[]): Promise<OriginRoleOptions> => parsedOptions(originCommand, args);
const fromFile = (...extra: string[]): Promise<OriginRoleOptions> => parse(['--config', file, ...extra]);

describe('dnscdn origin --config FILE', () => {
  it('takes every setting from the file when no other flag is given', async () => {
    expect(await fromFile()).toEqual({
      content: join(dirname(file), 'site'),
      listen: { host: '127.0.0.1', port: 18000 },
      adminListen: { host: '127.0.0.1', port: 18001 },
      rules: [{ pattern: '*.html', cacheControl: 'public, max-age=60' }],
      token: 'file-token-123',
      edges: [
        { name: 'london', url: 'http://127.0.0.21:18181' },
        { name: 'tokyo', url: 'http://127.0.0.12:19082' },
      ],
      dataDir: join(dirname(file), 'state/journal'),
      distributor: 'http://127.0.0.1:18101',
      watch: false,
    });
  });

  const overrides: Array<{ args: string[]; read: (o: OriginRoleOptions) => unknown; expected: unknown }> = [
    { args: ['--content', '/srv/www'], read: (o) => o.content, expected: '/srv/www' },
    { args: ['--listen', '127.0.0.99:9000'], read: (o) => o.listen, expected: { host: '127.0.0.99', port: 9000 } },
    { args: ['--admin-listen', '127.0.0.99:9999'], read: (o) => o.adminListen, expected: { host: '127.0.0.99', port: 9999 } },
    { args: ['--token', 'flag-token-456'], read: (o) => o.token, expected: 'flag-token-456' },
    { args: ['--edge', 'paris=http://127.0.0.13:8080'], read: (o) => o.edges, expected: [{ name: 'paris', url: 'http://127.0.0.13:8080' }] },
    { args: ['--distributor', 'http://127.0.0.1:9100'], read: (o) => o.distributor, expected: 'http://127.0.0.1:9100' },
    { args: ['--state-dir', '/var/lib/dnscdn'], read: (o) => o.dataDir, expected: '/var/lib/dnscdn' },
    { args: ['--data-dir', '/var/lib/dnscdn'], read: (o) => o.dataDir, expected: '/var/lib/dnscdn' }, // deprecated spelling
    { args: ['--edge', 'paris=http://127.0.0.13:9080,rome=http://127.0.0.14:9080', '--edge', 'oslo=http://127.0.0.15:9080'], read: (o) => o.edges.map((e) => e.name), expected: ['paris', 'rome', 'oslo'] },
    { args: ['--cache-control', '*.css=max-age=5'], read: (o) => o.rules, expected: [{ pattern: '*.css', cacheControl: 'max-age=5' }] },
    { args: ['--surrogate-key', '/img/**=images big'], read: (o) => o.rules, expected: [{ pattern: '/img/**', surrogateKeys: ['images', 'big'] }] },
    { args: ['--watch'], read: (o) => o.watch, expected: true },
  ];
  for (const { args, read, expected } of overrides) {
    it(`${args[0]} overrides the file`, async () => {
      expect(read(await fromFile())).not.toEqual(expected);
      expect(read(await fromFile(...args))).toEqual(expected);
    });
  }
});

describe('dnscdn origin without --config', () => {
  it('fills the defaults, and takes the token from the environment', async () => {
    process.env.DNSCDN_ADMIN_TOKEN = 'env-token-789';
    try {
      expect(await parse([])).toEqual({ content: 'content/', listen: { host: '127.0.0.1', port: 8000 }, adminListen: { host: '127.0.0.1', port: 9000 }, rules: [], edges: [], dataDir: 'var/journal', watch: false, token: 'env-token-789' });
      expect((await fromFile()).token).toBe('file-token-123');
    } finally {
      delete process.env.DNSCDN_ADMIN_TOKEN;
    }
  });

  it('puts the admin listener beside the public one (port + 1000) unless --admin-listen names it', async () => {
    expect((await parse(['--listen', '127.0.0.5:8001'])).adminListen).toEqual({ host: '127.0.0.5', port: 9001 });
    expect((await parse(['--listen', '0.0.0.0:8000'])).adminListen).toEqual({ host: '127.0.0.1', port: 9000 });
    await expect(parse(['--listen', '127.0.0.1:65000'])).rejects.toThrow(/--admin-listen is required/);
    expect((await parse(['--listen', '127.0.0.1:65000', '--admin-listen', '127.0.0.1:9999'])).adminListen).toEqual({ host: '127.0.0.1', port: 9999 });
  });
});
