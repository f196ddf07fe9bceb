/**
 * Output shared by every benchmark: a plain-text table on stdout and the results files
 * (`bench/results/<name>.json` and `<name>.svg`) in the repository, wherever the script runs from.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChartSvg, type BarChart } from './chart.js';

/** The repository root: the nearest folder above this file holding package.json (works from bench/ and from the build output). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above bench/');
    dir = up;
  }
  return dir;
}

export function resultsDir(): string {
  return join(repoRoot(), 'bench', 'results');
}

/** Writes `<name>.json` (pretty-printed) and `<name>.svg`; returns their paths. */
export async function writeResults(name: string, json: unknown, svg: string): Promise<string[]> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const jsonPath = join(dir, `${name}.json`);
  const svgPath = join(dir, `${name}.svg`);
  await writeFile(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(svgPath, svg);
  return [jsonPath, svgPath];
}

/** Formats rows as an aligned text table; numbers are right-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[], numeric: (i: number) => boolean): string =>
    r.map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const isNumeric = (i: number): boolean => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.,x%-]+$/.test(String(r[i])));
  return [line(headers, isNumeric), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map((r) => line(r, isNumeric))].join('\n');
}

/** A same-run ratio, e.g. "dnscdn / knot", with the target where there is one. */
export interface Ratio {
  ratio: string;
  value: number;
  target?: string;
}

export interface Comparison<R extends { case: string; server: string }> {
  name: string;
  title: string;
  yLabel: string;
  headers: readonly string[];
  row: (r: R) => ReadonlyArray<string | number>;
  results: readonly R[];
  ratios: readonly Ratio[];
  notes: readonly string[];
  /** The chart's groups (cases) and each result's bar height. */
  categories: readonly string[];
  value: (r: R) => number;
  conditions: Record<string, unknown>;
}

/** Prints the results and ratio tables and the notes, then writes `<name>.json` and a grouped bar chart. */
export async function publishComparison<R extends { case: string; server: string }>(c: Comparison<R>): Promise<void> {
  console.log(`\n${formatTable(c.headers, c.results.map(c.row))}`);
  console.log(`\n${formatTable(['ratio', 'value', 'target'], c.ratios.map((r) => [r.ratio, r.value.toFixed(2), r.target ?? '']))}`);
  for (const n of c.notes) console.log(`note: ${n}`);
  const servers = [...new Set(c.results.map((r) => r.server))];
  const chart: BarChart = {
    title: c.title,
    yLabel: c.yLabel,
    categories: c.categories,
    series: servers.map((name) => ({
      name,
      values: c.categories.map((category) => {
        const r = c.results.find((x) => x.case === category && x.server === name);
        return r === undefined ? null : c.value(r);
      }),
    })),
  };
  // The chart's data goes into the JSON too, so that `npm run bench:charts` can draw it again without a re-run.
  const written = await writeResults(c.name, { conditions: c.conditions, results: c.results, ratios: c.ratios, notes: c.notes, chart }, barChartSvg(chart));
  console.log(`\nwrote ${written.join(', ')}`);
}
