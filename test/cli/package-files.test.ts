/**
 * The entry point that supervisors run is found from any compiled copy of src/: dist/ (npm run build) and
 * dist-bench/src/ (npm run bench:build) sit at different depths, and a fixed '../../bin/dnscdn.js' from the
 * latter named a file that does not exist, so bench:chaos started nothing (issue 17).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DNSCDN_BIN, packageRootFrom } from '../../src/cli/package-files.js';

const ROOT = resolve('.');

describe('package files', () => {
  it.each([
    ['src/chaos/run.ts', 'vitest'],
    ['dist/chaos/run.js', 'npm run build'],
    ['dist-bench/src/chaos/run.js', 'npm run bench:build'],
  ])('finds the package root from %s (%s)', (module) => {
    expect(packageRootFrom(pathToFileURL(join(ROOT, module)))).toBe(ROOT);
  });

  it('names the bin/dnscdn.js that exists', () => {
    expect(DNSCDN_BIN).toBe(join(ROOT, 'bin', 'dnscdn.js'));
    expect(existsSync(DNSCDN_BIN)).toBe(true);
  });

  it('says where it looked when no package.json is above', () => {
    expect(() => packageRootFrom('file:///no-such-folder/deeper/module.js')).toThrow('no package.json at or above /no-such-folder/deeper');
  });
});
