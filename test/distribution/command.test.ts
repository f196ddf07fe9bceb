/**
 * `dnscdn distributor` flags: next to `--config`, each flag given overrides its key of the deployment file, and
 * a flag not given leaves the file's value (no hidden default).
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distributorCommand } from '../../src/distribution/command.js';
import type { DistributorRoleOptions } from '../../src/distribution/setup.js';
import { parsedOptions, ROLE_FLAGS_DEPLOYMENT, writeDeployment } from '../config/role-flags.js';

const file = writeDeployment();
const parse = (args: string[]): Promise<DistributorRoleOptions> => parsedOptions(distributorCommand, args);
const fromFile = (...extra: string[]): Promise<DistributorRoleOptions> => parse(['--config', file, ...extra]);

describe('dnscdn distributor --config FILE', () => {
  it('takes every setting from the file when no other flag is given', async () => {
    expect(await fromFile()).toEqual({
      listen: { host: '127.0.0.1', port: 18100 },
      adminListen: { host: '127.0.0.1', port: 18101 },
      dataDir: join(dirname(file), 'state/journal'),
      edges: [
        { name: 'london', url: 'http://127.0.0.21:18181' },
        { name: 'tokyo', url: 'http://127.0.0.12:19082' },
      ],
      token: 'file-token-123',
      compactAfter: 10_000,
    });
  });

  const overrides: Array<{ args: string[]; read: (o: DistributorRoleOptions) => unknown; expected: unknown }> = [
    { args: ['--listen', '127.0.0.99:9100'], read: (o) => o.listen, expected: { host: '127.0.0.99', port: 9100 } },
    { args: ['--admin-listen', '127.0.0.99:9999'], read: (o) => o.adminListen, expected: { host: '127.0.0.99', port: 9999 } },
    { args: ['--state-dir', '/var/lib/dnscdn'], read: (o) => o.dataDir, expected: '/var/lib/dnscdn' },
    { args: ['--data-dir', '/var/lib/dnscdn'], read: (o) => o.dataDir, expected: '/var/lib/dnscdn' }, // deprecated spelling
    { args: ['--edge', 'paris=http://127.0.0.13:8080'], read: (o) => o.edges, expected: [{ name: 'paris', url: 'http://127.0.0.13:8080' }] },
    { args: ['--upstream', 'http://127.0.0.1:9200'], read: (o) => o.upstream, expected: 'http://127.0.0.1:9200' },
    { args: ['--token', 'flag-token-456'], read: (o) => o.token, expected: 'flag-token-456' },
    { args: ['--compact-after', '50'], read: (o) => o.compactAfter, expected: 50 },
  ];
  for (const { args, read, expected } of overrides) {
    it(`${args[0]} overrides the file`, async () => {
      expect(read(await fromFile())).not.toEqual(expected);
      expect(read(await fromFile(...args))).toEqual(expected);
    });
  }

  it('refuses a deployment whose distribution node runs inside the origin, and a bad --compact-after', async () => {
    const inOrigin = writeDeployment(ROLE_FLAGS_DEPLOYMENT.replace('  listen: 127.0.0.1:18100\n  admin: 127.0.0.1:18101\n', ''));
    await expect(parse(['--config', inOrigin])).rejects.toThrow(/no separate distribution node/);
    await expect(fromFile('--compact-after', 'many')).rejects.toThrow(/--compact-after "many"/);
  });
});

describe('dnscdn distributor without --config', () => {
  it('fills the defaults, with the admin listener beside the public one (port + 1000)', async () => {
    expect(await parse(['--token', 'flag-token-456'])).toEqual({
      listen: { host: '127.0.0.1', port: 8100 },
      adminListen: { host: '127.0.0.1', port: 9100 },
      dataDir: 'var/journal',
      edges: [],
      token: 'flag-token-456',
      compactAfter: 10_000,
    });
    await expect(parse(['--listen', '127.0.0.1:65000'])).rejects.toThrow(/--admin-listen is required/);
  });
});
