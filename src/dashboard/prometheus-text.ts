/**
 * Reads counters out of Prometheus's text exposition format (prometheus.io/docs/instrumenting/exposition_formats):
 * `name{labels} value [timestamp]` per line, `#` lines are comments. Only what the dashboard needs: the sum of
 * each named metric over all its label sets.
 */
export function readCounterSums(text: string, names: readonly string[]): Map<string, number> {
  const wanted = new Set(names);
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!wanted.has(name)) continue;
    // The value follows the closing brace of the labels (label values may hold spaces), or the name.
    const afterLabels = line[nameEnd] === '{' ? line.lastIndexOf('}') + 1 : nameEnd;
    const value = Number(line.slice(afterLabels).trim().split(' ')[0]);
    if (Number.isFinite(value)) sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}
