/**
 * Files of the dnscdn package itself (its `bin/dnscdn.js` entry point), found from wherever this module was
 * compiled to: src/cli/ under vitest, dist/cli/ after `npm run build`, dist-bench/src/cli/ after `npm run
 * bench:build`. A path relative to import.meta.url fixes that depth: `new URL('../../bin/dnscdn.js', ...)` from the
 * benchmarks' copy named dist-bench/bin/dnscdn.js, which does not exist, and `bench:chaos` then restarted children
 * that could not start, with no output, until it was stopped by hand (issue 17).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `moduleUrl`'s folder that holds a package.json. */
export function packageRootFrom(moduleUrl: string | URL): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json at or above ${start}`);
  }
}

/** What a supervisor runs (with node) to start a role: `node <DNSCDN_BIN> edge --config ...`. */
export const DNSCDN_BIN = join(packageRootFrom(import.meta.url), 'bin', 'dnscdn.js');
