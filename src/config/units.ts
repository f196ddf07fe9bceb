/**
 * Human-friendly units in the deployment file: durations (`500ms`, `2s`, `1m`; a bare number is seconds,
 * as in DNS TTLs) and byte sizes (`256MB`, `16MiB`, `1GB`; a bare number is bytes).
 * Decimal and binary multiples are both accepted because operators write both; `MB` is 10^6 as in SI.
 */
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 500ms, 2s, 1m)`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2] ?? 's']!);
}

const SIZE_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = SIZE_BYTES[(m?.[2] ?? '').toLowerCase() || 'b'];
  if (!m || unit === undefined) throw new Error(`"${text}" is not a size (e.g. 256MB, 16MiB, 1048576)`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${text}" is too large`);
  return bytes;
}
