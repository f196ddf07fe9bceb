/**
 * Minimal SVG charts for benchmark results: small-multiple line charts (hit ratio against cache size)
 * and grouped bar charts (queries/s or requests/s per server). Self-contained text output, no fonts or
 * scripts to load, so a chart renders the same in a browser, on GitHub and in an image viewer.
 */

export type LineStyle = 'solid' | 'dashed' | 'dotted';

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  style?: LineStyle;
}

export interface LinePanel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Where the x axis has ticks (and their labels). */
  xTicks: readonly number[];
  xTickLabel?: (x: number) => string;
  xScale?: 'linear' | 'log';
  /** Defaults to [0, the largest y rounded up]. */
  yDomain?: readonly [number, number];
  series: readonly Series[];
}

export interface BarChart {
  title: string;
  yLabel: string;
  /** Groups along the x axis (e.g. test cases). */
  categories: readonly string[];
  /** One bar per series in each group; null where the series has no value (e.g. server not installed). */
  series: ReadonlyArray<{ name: string; values: ReadonlyArray<number | null> }>;
  /** Written after each bar's value (`28 ms`); without it values are compact numbers (`126k`). Data, not a function, so a chart can be kept in its results JSON and drawn again. */
  valueUnit?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf', '#bcbd22'];
const DASH: Record<LineStyle, string> = { solid: '', dashed: ' stroke-dasharray="7 4"', dotted: ' stroke-dasharray="2 3"' };
const FONT = 'font-family="sans-serif"';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Colours by series name, so that one name has one colour in every panel of a figure. */
function colourMap(names: Iterable<string>): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of names) if (!map.has(name)) map.set(name, PALETTE[map.size % PALETTE.length]!);
  return map;
}

/** A "nice" upper bound for an axis, a multiple of a power of ten whose quarters read well (1, 2, 2.5, 3, 4, 5, 6, 8), at or above max. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Three significant digits with a k/M suffix: 123456 -> "123k", 2500000 -> "2.5M". */
export function compactNumber(v: number): string {
  const short = (x: number): string => String(Number(x.toPrecision(3)));
  if (Math.abs(v) >= 1e6) return `${short(v / 1e6)}M`;
  if (Math.abs(v) >= 1e3) return `${short(v / 1e3)}k`;
  return short(v);
}

const PANEL_W = 360;
const PANEL_H = 260;
const MARGIN = { left: 56, right: 12, top: 28, bottom: 44 };

function renderPanel(panel: LinePanel, x0: number, y0: number, colours: Map<string, string>): string {
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const left = x0 + MARGIN.left;
  const top = y0 + MARGIN.top;
  const log = panel.xScale === 'log';
  const xs = panel.xTicks.length > 0 ? panel.xTicks : panel.series.flatMap((s) => s.points.map((p) => p[0]));
  const tx = (x: number): number => (log ? Math.log(x) : x);
  const xMin = Math.min(...xs.map(tx));
  const xMax = Math.max(...xs.map(tx));
  const yMaxData = Math.max(0, ...panel.series.flatMap((s) => s.points.map((p) => p[1])));
  const [yMin, yMax] = panel.yDomain ?? [0, niceCeiling(yMaxData)];
  const px = (x: number): number => left + (xMax === xMin ? plotW / 2 : ((tx(x) - xMin) / (xMax - xMin)) * plotW);
  const py = (y: number): number => top + plotH - ((y - yMin) / (yMax - yMin || 1)) * plotH;
  const out: string[] = [];
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${y0 + 18}" text-anchor="middle" font-size="13" font-weight="bold" ${FONT}>${escapeXml(panel.title)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 4; i++) {
    const y = yMin + ((yMax - yMin) * i) / 4;
    const yy = py(y).toFixed(1);
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11" ${FONT}>${escapeXml(compactNumber(y))}</text>`);
  }
  for (const x of panel.xTicks) {
    const xx = px(x).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#999"/>`);
    const label = panel.xTickLabel ? panel.xTickLabel(x) : compactNumber(x);
    out.push(`<text x="${xx}" y="${top + plotH + 16}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(label)}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${y0 + PANEL_H - 8}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(panel.xLabel)}</text>`);
  const midY = top + plotH / 2;
  out.push(`<text x="${x0 + 14}" y="${midY}" text-anchor="middle" font-size="11" transform="rotate(-90 ${x0 + 14} ${midY})" ${FONT}>${escapeXml(panel.yLabel)}</text>`);
  for (const s of panel.series) {
    const colour = colours.get(s.name) ?? '#000';
    const points = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${DASH[s.style ?? 'solid']} points="${points.join(' ')}"/>`);
    for (const p of points) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${colour}"/>`);
    }
  }
  return out.join('\n');
}

function legend(entries: ReadonlyArray<{ name: string; colour: string; style: LineStyle }>, y: number, width: number): string {
  const out: string[] = [];
  const itemW = Math.min(200, Math.max(130, Math.floor((width - 24) / Math.max(1, entries.length))));
  entries.forEach((e, i) => {
    const x = 12 + i * itemW;
    out.push(`<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${e.colour}" stroke-width="3"${DASH[e.style]}/>`);
    out.push(`<text x="${x + 34}" y="${y}" dy="4" font-size="12" ${FONT}>${escapeXml(e.name)}</text>`);
  });
  return out.join('\n');
}

/**
 * Text width estimates, since an SVG cannot measure its own text: sans-serif glyphs average about 0.55 em
 * (0.62 em bold) in DejaVu Sans and Liberation Sans, the widest common fallbacks; the chart test measures the
 * real boxes in Chromium, so an estimate that is too small fails there.
 */
function textWidth(text: string, fontSize: number, bold = false): number {
  return text.length * fontSize * (bold ? 0.62 : 0.55);
}

/** Greedy word wrap into lines at most `width` wide (a single long word gets a line of its own). */
function wrap(text: string, fontSize: number, width: number, bold = false): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && textWidth(next, fontSize, bold) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  lines.push(line);
  return lines;
}

/** A centred text of one or more lines (tspans), first baseline at y. */
function textLines(lines: readonly string[], x: number, y: number, fontSize: number, extra = ''): string {
  const spans = lines.map((l, i) => `<tspan x="${x.toFixed(1)}" dy="${i === 0 ? 0 : Math.round(fontSize * 1.2)}">${escapeXml(l)}</tspan>`).join('');
  return `<text x="${x.toFixed(1)}" y="${y}" text-anchor="middle" font-size="${fontSize}"${extra} ${FONT}>${spans}</text>`;
}

const TITLE_SIZE = 16;
/** Title lines and the height they take; the title wraps rather than widening the canvas past `maxWidth`. */
function titleBlock(title: string, width: number): { lines: string[]; height: number } {
  const lines = wrap(title, TITLE_SIZE, width - 24, true);
  return { lines, height: lines.length * Math.round(TITLE_SIZE * 1.2) };
}

function document(width: number, height: number, title: readonly string[], body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    textLines(title, width / 2, 22, TITLE_SIZE, ' font-weight="bold" class="title"'),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Line charts laid out `columns` to a row under one title and one legend. */
export function lineChartSvg(title: string, panels: readonly LinePanel[], columns: number): string {
  const cols = Math.max(1, Math.min(columns, panels.length));
  const rows = Math.ceil(panels.length / cols);
  const width = Math.max(cols * PANEL_W, 480);
  const legendY = 44;
  const height = 60 + rows * PANEL_H;
  const styles = new Map<string, LineStyle>();
  for (const p of panels) for (const s of p.series) if (!styles.has(s.name)) styles.set(s.name, s.style ?? 'solid');
  const colours = colourMap(styles.keys());
  const body = [legend([...styles].map(([name, style]) => ({ name, style, colour: colours.get(name)! })), legendY, width)];
  panels.forEach((panel, i) => body.push(renderPanel(panel, (i % cols) * PANEL_W, 60 + Math.floor(i / cols) * PANEL_H, colours)));
  return document(width, height, titleBlock(title, width).lines, body);
}

/** Values spanning this factor or more get a log axis: a 28 ms bar beside a 3,000 ms one is invisible on a linear one. */
const LOG_AXIS_SPAN = 100;
const MAX_WIDTH = 1000;
const LABEL_SIZE = 11;

/**
 * A grouped bar chart: one group per category, one bar per series, value written above each bar. The plot spans
 * the canvas; category labels wrap to their group's width; the y axis is logarithmic (ticks at powers of ten)
 * when the values span LOG_AXIS_SPAN or more.
 */
export function barChartSvg(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const positive = values.filter((v) => v > 0);
  const log = positive.length > 1 && Math.max(...positive) / Math.min(...positive) >= LOG_AXIS_SPAN;
  // Wide enough for a 48 px bar per series in each group, the legend (130 px per series) and the title on one line
  // up to MAX_WIDTH; past that the title wraps.
  const minGroupW = Math.max(110, chart.series.length * 48 + 24);
  const titleW = Math.min(MAX_WIDTH, Math.ceil(textWidth(chart.title, TITLE_SIZE, true)) + 32);
  const width = Math.ceil(Math.max(MARGIN.left + chart.categories.length * minGroupW + MARGIN.right, 24 + chart.series.length * 130, titleW, 480));
  const title = titleBlock(chart.title, width);
  const left = MARGIN.left;
  const plotW = width - left - MARGIN.right;
  const groupW = plotW / Math.max(1, chart.categories.length);
  const labelLines = chart.categories.map((c) => wrap(c, LABEL_SIZE, groupW - 12));
  const labelH = Math.max(1, ...labelLines.map((l) => l.length)) * Math.round(LABEL_SIZE * 1.2);
  const legendY = 22 + title.height + 6;
  const top = legendY + 26;
  const plotH = 280;
  const height = top + plotH + 12 + labelH + 8;
  const axis = log ? logAxis(positive) : linearAxis(Math.max(0, ...values));
  const py = (y: number): number => top + plotH - axis.fraction(y) * plotH;
  const colours = colourMap(chart.series.map((s) => s.name));
  const label = (v: number): string => (chart.valueUnit === undefined ? compactNumber(v) : `${v} ${chart.valueUnit}`);
  const body: string[] = [legend(chart.series.map((s) => ({ name: s.name, style: 'solid' as const, colour: colours.get(s.name)! })), legendY, width)];
  for (const y of axis.ticks) {
    const yy = py(y).toFixed(1);
    body.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    body.push(`<text x="${left - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11" ${FONT}>${escapeXml(compactNumber(y))}</text>`);
  }
  const barW = (groupW - 24) / Math.max(1, chart.series.length);
  chart.categories.forEach((category, c) => {
    const gx = left + c * groupW + 12;
    chart.series.forEach((s, k) => {
      const v = s.values[c];
      const x = gx + k * barW;
      if (v === null || v === undefined) {
        body.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${top + plotH - 4}" text-anchor="middle" font-size="9" fill="#999" ${FONT}>n/a</text>`);
        return;
      }
      const y = py(v);
      body.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - y).toFixed(1)}" fill="${colours.get(s.name)}"/>`);
      body.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="9" ${FONT}>${escapeXml(label(v))}</text>`);
    });
    body.push(textLines(labelLines[c]!, gx + (groupW - 24) / 2, top + plotH + 16, LABEL_SIZE, ' class="x-label"'));
  });
  body.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#999"/>`);
  const midY = top + plotH / 2;
  const yLabel = log ? `${chart.yLabel} (log scale)` : chart.yLabel;
  body.push(`<text x="14" y="${midY}" text-anchor="middle" font-size="11" transform="rotate(-90 14 ${midY})" ${FONT}>${escapeXml(yLabel)}</text>`);
  return document(width, height, title.lines, body);
}

interface Axis {
  ticks: readonly number[];
  /** Where a value sits, 0 (bottom) to 1 (top). */
  fraction(v: number): number;
}

function linearAxis(max: number): Axis {
  const top = niceCeiling(max);
  return { ticks: [0, 1, 2, 3, 4].map((i) => (top * i) / 4), fraction: (v) => v / top };
}

/** Decades from the one below the smallest value to the one at or above the largest. */
function logAxis(values: readonly number[]): Axis {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return { ticks, fraction: (v) => Math.max(0, (Math.log10(v) - lo) / (hi - lo)) };
}
