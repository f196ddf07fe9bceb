/**
 * The command-line conventions every command shares, in one place (issue 12, "one spelling for each thing"):
 * - a renamed flag keeps working under its old spelling, with one deprecation warning on stderr;
 * - durations carry units (`5s`, `500ms`, parsed by config/units.ts as the file's keys are); a bare number
 *   still works on the flags that took one, with a warning stating the unit it was read in;
 * - list-valued flags take a comma list and may also repeat (`--purge-allow a,b --purge-allow c`).
 * The README's "Renamed flags" table lists every old spelling.
 */
import { Option, type Command } from 'commander';
import type { EventEmitter } from 'node:events';
import { parseDuration } from '../config/units.js';
import { ConfigError } from '../errors.js';

const warned = new Set<string>();

/** One line on stderr per distinct warning and process (a flag parsed twice warns once). */
export function warnDeprecated(text: string): void {
  if (warned.has(text)) return;
  warned.add(text);
  process.stderr.write(`dnscdn: warning: ${text}\n`);
}

/**
 * Adds `oldFlags` (e.g. `--admin-token <token>`) as a hidden alias of the option whose long flag is `current`:
 * its value goes through that option's own parser, as if `current` had been given.
 */
export function addDeprecatedAlias(cmd: Command, oldFlags: string, current: string): Command {
  const alias = new Option(oldFlags).hideHelp();
  const target = cmd.options.find((o) => o.long === current);
  if (target === undefined) throw new Error(`${cmd.name()}: no option ${current} to alias ${alias.long ?? oldFlags}`);
  cmd.addOption(alias);
  cmd.on(`option:${alias.name()}`, (value: string | undefined) => {
    warnDeprecated(`${alias.long} is deprecated; use ${current}`);
    // commander parses and stores an option in its own `option:NAME` listener; this hands it the value.
    (cmd as unknown as EventEmitter).emit(`option:${target.name()}`, value);
  });
  return cmd;
}

export type BareUnit = 'ms' | 's';

/**
 * A duration flag's parser: `500ms`, `2s`, `1m`, `1h`, in milliseconds, at least `minMs`. `bareUnit` is what a
 * number without a unit meant before units were required (the flag keeps accepting it, with a warning).
 */
export function durationFlag(flag: string, minMs: number, bareUnit: BareUnit = 's'): (value: string) => number {
  return (value) => {
    const bare = /^\s*\d+(?:\.\d+)?\s*$/.test(value);
    let ms: number;
    try {
      ms = bare ? parseDuration(`${value.trim()}${bareUnit}`) : parseDuration(value);
    } catch (err) {
      throw new ConfigError({ file: flag }, err instanceof Error ? err.message : String(err));
    }
    if (bare) warnDeprecated(`${flag} ${value.trim()}: a number without a unit is deprecated; it was read as ${value.trim()}${bareUnit} (write the unit: 500ms, 5s, 1m)`);
    if (ms < minMs) throw new ConfigError({ file: flag }, minMs === 1 ? 'must be longer than 0 (e.g. 2s, 500ms)' : `must be at least ${minMs}ms`);
    return ms;
  };
}

/** A list flag's parser: each value may be a comma list, and the flag may repeat; items are trimmed, empties dropped. */
export function listFlag<T>(parseItem: (text: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(parseItem),
  ];
}
