/**
 * The committed charts as a reader sees them: each bench/results/*.svg is drawn by Chromium (headless, as
 * installed by .ci/run) to a PNG, and measured in the browser: every text's box (getBBox, with the real fonts)
 * lies inside the canvas, the category labels under the bars do not overlap, and the plot reaches the canvas's
 * right side. A renderer change that clips a title or crowds labels fails here, not on GitHub.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const charts = readdirSync(RESULTS).filter((f) => f.endsWith('.svg')).sort();
const dir = mkdtempSync(join(tmpdir(), 'dnscdn-charts-'));
// As root (CI containers) Chromium needs --no-sandbox; nothing but our own files is loaded.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--user-data-dir=' + join(dir, 'profile')];

interface Box {
  text: string;
  cls: string;
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Measured {
  width: number;
  height: number;
  texts: Box[];
  /** Rightmost x of any line or rect other than the background. */
  plotRight: number;
}

/** Runs in the page: boxes of every text, in the svg's own coordinates (its viewBox equals its size). */
const MEASURE = `
const svg = document.querySelector('svg');
const texts = [...svg.querySelectorAll('text')].map((t) => {
  const b = t.getBBox();
  const m = t.getCTM();
  // Rotated labels (the y axis title): transform the box corners.
  const pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]].map(([x, y]) => new DOMPoint(x, y).matrixTransform(m).matrixTransform(svg.getCTM().inverse()));
  const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
  return { text: t.textContent, cls: t.getAttribute('class') || '', x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
});
const shapes = [...svg.querySelectorAll('line, rect')].slice(1).map((e) => { const b = e.getBBox(); return b.x + b.width; });
document.getElementById('out').textContent = JSON.stringify({ width: +svg.getAttribute('width'), height: +svg.getAttribute('height'), texts, plotRight: Math.max(...shapes) });
`;

async function measure(file: string): Promise<Measured> {
  const page = join(dir, `${file}.html`);
  writeFileSync(page, `<!doctype html><html><body style="margin:0">${readFileSync(join(RESULTS, file), 'utf8')}<pre id="out"></pre><script>${MEASURE}</script></body></html>`);
  const { stdout } = await run(CHROMIUM, [...FLAGS, '--dump-dom', `file://${page}`], { maxBuffer: 16 * 1024 * 1024 });
  const json = /<pre id="out">([^<]*)<\/pre>/.exec(stdout)?.[1];
  if (!json) throw new Error(`no measurement from Chromium for ${file}`);
  return JSON.parse(json.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')) as Measured;
}

describe('committed benchmark charts in Chromium', () => {
  it('there are charts to check', () => {
    expect(charts).toEqual(expect.arrayContaining(['dns.svg', 'edge.svg', 'push.svg', 'zone-load.svg', 'hit-ratio.svg']));
  });

  it.each(charts)('%s renders to a PNG of its size', async (file) => {
    const svg = readFileSync(join(RESULTS, file), 'utf8');
    const [, w, h] = /<svg[^>]*width="(\d+)" height="(\d+)"/.exec(svg)!;
    const png = join(dir, `${file}.png`);
    await run(CHROMIUM, [...FLAGS, `--screenshot=${png}`, `--window-size=${w},${h}`, `file://${join(RESULTS, file)}`]);
    const head = readFileSync(png);
    expect(head.subarray(1, 4).toString()).toBe('PNG');
    expect(head.readUInt32BE(16)).toBe(Number(w)); // IHDR width
    expect(statSync(png).size).toBeGreaterThan(2000);
  }, 60_000);

  it.each(charts)('%s: every text inside the canvas, x-labels apart, the plot across the canvas', async (file) => {
    const m = await measure(file);
    expect(m.texts.length).toBeGreaterThan(3);
    for (const t of m.texts) {
      const where = `"${t.text}" at x ${t.x.toFixed(1)}..${(t.x + t.width).toFixed(1)}, y ${t.y.toFixed(1)}..${(t.y + t.height).toFixed(1)} in ${m.width}x${m.height}`;
      expect(t.x >= 0 && t.y >= 0 && t.x + t.width <= m.width && t.y + t.height <= m.height, where).toBe(true);
    }
    const labels = m.texts.filter((t) => t.cls === 'x-label').sort((a, b) => a.x - b.x);
    for (let i = 1; i < labels.length; i++) expect(labels[i]!.x, `"${labels[i - 1]!.text}" overlaps "${labels[i]!.text}"`).toBeGreaterThan(labels[i - 1]!.x + labels[i - 1]!.width);
    expect(m.plotRight).toBeGreaterThan(m.width * 0.9);
  }, 60_000);
});
