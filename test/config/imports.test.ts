/**
 * The config layer reads and validates the deployment file and imports no role (issue 11 item 6): each role's
 * setup.ts depends on config, never the other way, so a role's options have one home and config stays a leaf.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROLE_FOLDERS = ['dns', 'edge', 'origin', 'distribution', 'up', 'dashboard'];
const CONFIG = new URL('../../src/config/', import.meta.url).pathname;

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

describe('src/config', () => {
  it('imports no role', () => {
    const files = readdirSync(CONFIG).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    const roleImports = files.flatMap((f) =>
      importsOf(join(CONFIG, f))
        .filter((spec) => ROLE_FOLDERS.some((role) => spec.startsWith(`../${role}/`)))
        .map((spec) => `${f}: ${spec}`),
    );
    expect(roleImports).toEqual([]);
  });

  it('reads the import specifiers of a file (so the check above can see one)', () => {
    const spec = importsOf(new URL('../../src/edge/setup.ts', import.meta.url).pathname);
    expect(spec).toContain('../config/reach.js');
  });
});
