/**
 * Value parsers for the flags of `dnscdn dns`, in the units and ranges of the deployment file's keys
 * (so a flag and its key accept the same values). A bad value is a ConfigError naming the flag. Durations and
 * lists are parsed by the conventions every command shares (src/cli/flags.ts).
 */
import { ConfigError } from '../errors.js';

/** A whole number within `range` (the range the file's key has). */
export function integerFlag(flag: string, range: { min: number; max: number }): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < range.min || n > range.max) throw new ConfigError({ file: flag }, `"${value}" is not a whole number from ${range.min} to ${range.max}`);
    return n;
  };
}

/** A number (fractions allowed) within `range` (the range the file's key has). */
export function numberFlag(flag: string, range: { min: number; max: number }): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < range.min || n > range.max) throw new ConfigError({ file: flag }, `"${value}" is not a number from ${range.min} to ${range.max}`);
    return n;
  };
}
