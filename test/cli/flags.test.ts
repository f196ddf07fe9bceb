/**
 * The shared command-line conventions (src/cli/flags.ts, state-dir.ts, config-path.ts): a renamed flag keeps
 * working with one warning, durations carry units (a bare number warns and states the unit it assumed), list
 * flags take comma lists and repeat, state folders default to the file's, `--config` is relative to the cwd.
 */
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deploymentFile, deploymentFileOrEmbedded, EMBEDDED_CONFIG } from '../../src/cli/config-path.js';
import { addDeprecatedAlias, durationFlag, listFlag } from '../../src/cli/flags.js';
import { legacyStateDir } from '../../src/cli/state-dir.js';

let stderr: string[] = [];
beforeEach(() => {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});
afterEach(() => void vi.restoreAllMocks());

function parse(cmd: Command, args: string[]): Record<string, unknown> {
  cmd.exitOverride().action(() => undefined);
  cmd.parse(args, { from: 'user' });
  return cmd.opts();
}

describe('a renamed flag', () => {
  const command = (): Command => {
    const cmd = new Command('t').option('--token <token>', 'token').option('--listen <a>', 'address', (v: string) => `parsed:${v}`);
    addDeprecatedAlias(cmd, '--admin-token <token>', '--token');
    return addDeprecatedAlias(cmd, '--metrics-listen <a>', '--listen');
  };

  it('sets the new option, through its own parser, and warns once on stderr naming the new spelling', () => {
    expect(parse(command(), ['--admin-token', 'abc'])).toMatchObject({ token: 'abc' });
    expect(parse(command(), ['--metrics-listen', 'x'])).toMatchObject({ listen: 'parsed:x' });
    expect(parse(command(), ['--metrics-listen', 'y'])).toMatchObject({ listen: 'parsed:y' });
    expect(stderr).toEqual(['dnscdn: warning: --admin-token is deprecated; use --token\n', 'dnscdn: warning: --metrics-listen is deprecated; use --listen\n']);
  });

  it('the new spelling warns about nothing, and the alias is hidden from --help', () => {
    const cmd = command();
    expect(parse(cmd, ['--token', 'abc'])).toMatchObject({ token: 'abc' });
    expect(stderr).toEqual([]);
    expect(cmd.helpInformation()).not.toContain('--admin-token');
  });
});

describe('durations', () => {
  it('take units', () => {
    expect(durationFlag('--t-units', 1)('500ms')).toBe(500);
    expect(durationFlag('--t-units', 1)('5s')).toBe(5000);
    expect(durationFlag('--t-units', 1)('1m')).toBe(60_000);
    expect(stderr).toEqual([]);
  });

  it('a bare number still works on an old flag, read in its old unit, with a warning that states the unit', () => {
    expect(durationFlag('--origin-timeout', 1, 'ms')('1500')).toBe(1500);
    expect(durationFlag('--rrl-window', 1, 's')('15')).toBe(15_000);
    expect(stderr).toEqual([
      'dnscdn: warning: --origin-timeout 1500: a number without a unit is deprecated; it was read as 1500ms (write the unit: 500ms, 5s, 1m)\n',
      'dnscdn: warning: --rrl-window 15: a number without a unit is deprecated; it was read as 15s (write the unit: 500ms, 5s, 1m)\n',
    ]);
  });

  it('a bad value names the flag', () => {
    expect(() => durationFlag('--t-bad', 1)('soon')).toThrow(/^--t-bad: "soon" is not a duration/);
    expect(() => durationFlag('--t-bad', 1)('0s')).toThrow(/^--t-bad: must be longer than 0/);
  });
});

describe('list flags', () => {
  it('take a comma list and repeat, in order', () => {
    const cmd = new Command('t').option('--allow <cidr>', 'networks', listFlag((v) => v.toUpperCase()));
    expect(parse(cmd, ['--allow', 'a, b', '--allow', 'c', '--allow', 'd,,e'])).toEqual({ allow: ['A', 'B', 'C', 'D', 'E'] });
  });
});

describe('state folders and the deployment file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-cli-'));

  it('default to the file\'s folder; an existing old default folder is kept, with a warning', () => {
    const old = join(dir, 'old-default');
    const current = join(dir, 'var', 'journal');
    expect(legacyStateDir(old, current)).toBe(current); // nothing there yet: the new default
    mkdirSync(old);
    expect(legacyStateDir(old, current)).toBe(old);
    expect(stderr.join('')).toContain(`using the state folder ${old} (the old default); the default is now ${current}`);
    mkdirSync(current, { recursive: true });
    expect(legacyStateDir(old, current)).toBe(current); // once moved (or both exist), the new one
  });

  it('--config is relative to the working directory; without it ./dnscdn.yaml when present, else the shipped demo for up and check', () => {
    const cwd = join(dir, 'project');
    mkdirSync(cwd);
    expect(deploymentFile('site.yaml', cwd)).toBe(join(cwd, 'site.yaml'));
    expect(deploymentFile(undefined, cwd)).toBeUndefined();
    expect(deploymentFileOrEmbedded(undefined, cwd)).toBe(EMBEDDED_CONFIG);
    writeFileSync(join(cwd, 'dnscdn.yaml'), 'dns: {}\n');
    expect(deploymentFile(undefined, cwd)).toBe(join(cwd, 'dnscdn.yaml'));
    expect(deploymentFileOrEmbedded(undefined, cwd)).toBe(join(cwd, 'dnscdn.yaml'));
  });
});
