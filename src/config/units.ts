/**
 * Durations in the deployment file: `500ms`, `2s`, `1m`; a bare number is seconds, as in DNS TTLs.
 * (Byte sizes use the edge's parser, `src/edge/byte-size.ts`, so the flag and the file agree.)
 */
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 500ms, 2s, 1m)`);
  return Math.round(Number(m[1]) * DURATION_MS[m[2] ?? 's']!);
}
