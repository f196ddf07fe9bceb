/**
 * Prepares the demo zone for the reference servers: Knot, NSD and our dns2 script read one file, so
 * `$INCLUDE` lines (relative to the zones folder in dnscdn) are expanded into a single flat zone file.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const MAX_DEPTH = 8;

/** The zone text with every `$INCLUDE file` replaced by that file's text (paths relative to zonesDir). */
export function flattenZone(zonesDir: string, file: string, depth = 0): string {
  if (depth > MAX_DEPTH) throw new Error(`$INCLUDE nested deeper than ${MAX_DEPTH} in ${file}`);
  const text = readFileSync(resolve(zonesDir, file), 'utf8');
  return text
    .split('\n')
    .map((line) => {
      const m = /^\$INCLUDE\s+(\S+)(\s+\S+)?/i.exec(line);
      if (!m) return line;
      if (m[2] !== undefined) throw new Error(`${file}: $INCLUDE with an origin is not supported here`);
      return flattenZone(zonesDir, join(m[1]!), depth + 1);
    })
    .join('\n');
}
