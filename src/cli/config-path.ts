/**
 * Which deployment file a command reads, decided in one place for every command: `--config FILE` relative to
 * the working directory (never to the install folder), else `./dnscdn.yaml` when the working directory has one
 * (as `knotc` reads its default config), else, for the commands that run a whole deployment (`up`, `check`), the
 * demo file shipped at the package root; admin commands then run on flags and environment alone.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_CONFIG_NAME = 'dnscdn.yaml';

/** The demo deployment shipped with the package (what `npm start` runs). */
export const EMBEDDED_CONFIG = fileURLToPath(new URL('../../dnscdn.yaml', import.meta.url));

export function deploymentFile(flag: string | undefined, cwd: string = process.cwd()): string | undefined {
  if (flag !== undefined) return resolve(cwd, flag);
  const local = resolve(cwd, DEFAULT_CONFIG_NAME);
  return existsSync(local) ? local : undefined;
}

export function deploymentFileOrEmbedded(flag: string | undefined, cwd: string = process.cwd()): string {
  return deploymentFile(flag, cwd) ?? EMBEDDED_CONFIG;
}
