import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';

/**
 * A deployment whose every key differs from the flags' defaults and from the values the flag tests give, so a
 * flag that is ignored next to `--config` (or a default that hides the file's key) shows as a wrong value.
 */
export const ROLE_FLAGS_DEPLOYMENT = `dns:
  listen: [127.0.0.1:15353]
  zones: zones/
edgeDefaults:
  cache: { maxBytes: 64MB, maxObjectBytes: 2MB, expectedObjectBytes: 16KiB, ignoreCookies: [_ga*], policy: s3-fifo }
  purgeAllow: [10.0.0.0/8]
edges:
  london: { addresses: [127.0.0.11], port: 18081, admin: 127.0.0.21:18181, location: { lat: 51.5, lon: -0.1 } }
  tokyo: { addresses: [127.0.0.12], port: 18082, location: { lat: 35.7, lon: 139.7 } }
origin:
  listen: 127.0.0.1:18000
  admin: 127.0.0.1:18001
  content: site/
  rules:
    - { match: "*.html", cacheControl: "public, max-age=60" }
distribution:
  listen: 127.0.0.1:18100
  admin: 127.0.0.1:18101
  journal: state/journal
admin:
  tokens: [file-token-123]
`;

export function writeDeployment(text = ROLE_FLAGS_DEPLOYMENT): string {
  const file = join(mkdtempSync(join(tmpdir(), 'dnscdn-flags-')), 'dnscdn.yaml');
  writeFileSync(file, text);
  return file;
}

/** Parses `args` through the role's real commander command and returns the options it would start. */
export async function parsedOptions<T>(make: (run: (options: T) => Promise<void>) => Command, args: string[]): Promise<T> {
  let seen: T | undefined;
  const command = make(async (options) => void (seen = options));
  command.exitOverride();
  await command.parseAsync(args, { from: 'user' });
  if (seen === undefined) throw new Error('the command did not run');
  return seen;
}
