/**
 * The V8 flags every process sets (src/v8-flags.ts): each one is known to this Node (node refuses an
 * unknown V8 option on its command line, while setFlagsFromString would ignore it silently), and the
 * CLI applies them before any role starts.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { applyServerV8Flags, SERVER_V8_FLAGS } from '../src/v8-flags.js';

describe('server V8 flags', () => {
  it.each(SERVER_V8_FLAGS)('%s is an option this V8 knows', (flag) => {
    const run = spawnSync(process.execPath, [flag, '-e', '0'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('are all applied, pretenuring off among them', () => {
    const applied: string[] = [];
    applyServerV8Flags((flag) => applied.push(flag));
    expect(applied).toEqual([...SERVER_V8_FLAGS]);
    expect(applied).toContain('--no-allocation-site-pretenuring');
  });

  it('are applied by the CLI before a role runs', async () => {
    const source = await import('node:fs').then((fs) => fs.readFileSync(new URL('../src/cli.ts', import.meta.url), 'utf8'));
    const body = source.slice(source.indexOf('export async function runCli'));
    expect(body.indexOf('applyServerV8Flags()')).toBeGreaterThan(0);
    expect(body.indexOf('applyServerV8Flags()')).toBeLessThan(body.indexOf('parseAsync'));
  });
});
