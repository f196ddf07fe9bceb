/**
 * Units in the deployment file and on the command line, parsed in one place so that a flag and the key it
 * overrides accept the same text.
 * Durations: `500ms`, `2s`, `1m`; a bare number is seconds, as in DNS TTLs.
 * Sizes: `256MB`, `8MiB`, `64k`, `1048576` (decimal and binary units).
 */
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 500ms, 2s, 1m)`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2] ?? 's']!);
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`bad size "${text}": expected a number with an optional unit (KB, MB, GB, KiB, MiB, GiB)`);
  const n = Math.floor(Number(m[1]) * unit);
  if (!(n > 0) || !Number.isSafeInteger(n)) throw new Error(`bad size "${text}": must be positive`);
  return n;
}
