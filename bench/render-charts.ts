/**
 * `npm run bench:charts`: draws bench/results/<name>.svg again from the `chart` kept in <name>.json, after a change
 * to the renderer (chart.ts), without running the benchmarks again. Results without a `chart` are left alone.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChartSvg, type BarChart } from './chart.js';
import { resultsDir } from './report.js';

function isBarChart(v: unknown): v is BarChart {
  const c = v as Partial<BarChart> | null;
  return typeof c === 'object' && c !== null && typeof c.title === 'string' && typeof c.yLabel === 'string' && Array.isArray(c.categories) && Array.isArray(c.series);
}

const dir = resultsDir();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const data: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const chart = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as { chart?: unknown }).chart : undefined;
  if (!isBarChart(chart)) continue;
  const svg = join(dir, file.replace(/\.json$/, '.svg'));
  writeFileSync(svg, barChartSvg(chart));
  console.log(`wrote ${svg}`);
}
