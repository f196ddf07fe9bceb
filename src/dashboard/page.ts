/**
 * The dashboard page: one HTML document with its style, script and map inline, so it needs no build step and
 * no network (no CDN-hosted script, font or tile). The script opens one EventSource on /dashboard/events and
 * redraws from what the server pushes; there is no polling loop.
 */
import { landPath, MAP_HEIGHT, MAP_WIDTH } from './world-map.js';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem 2rem; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; } h2 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
#status { color: #5b6473; font-size: .85rem; }
svg { width: 100%; max-width: 960px; background: #dde6f0; border-radius: 6px; }
.land { fill: #c2cbb5; stroke: #9aa58b; stroke-width: .3; }
.edge circle { stroke: #1d2430; stroke-width: .8; }
.edge[data-health="up"] circle { fill: #2e9e4f; } .edge[data-health="down"] circle { fill: #d63b3b; } .edge[data-health="unknown"] circle { fill: #8a8f98; }
.edge text { font-size: 9px; fill: #1d2430; }
table { border-collapse: collapse; background: #fff; } th, td { padding: .25rem .6rem; border-bottom: 1px solid #e3e6ea; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr[data-health="down"] td:first-child { color: #d63b3b; font-weight: 600; }
#feed { list-style: none; padding: 0; max-width: 960px; } #feed li { padding: .15rem 0; border-bottom: 1px solid #e3e6ea; }
#feed .kind { display: inline-block; width: 4rem; color: #5b6473; } small { color: #5b6473; }
`;

/** Runs in the browser: plain DOM, no framework. Numbers arrive already computed; the page only formats them. */
const SCRIPT = `
const W = ${MAP_WIDTH}, H = ${MAP_HEIGHT};
const svgNs = 'http://www.w3.org/2000/svg';
const fmt = (x, digits = 1) => x === null || x === undefined ? '–' : Number(x).toFixed(digits);
const bytes = (x) => x === null || x === undefined ? '–' : x >= 1048576 ? (x / 1048576).toFixed(1) + ' MiB/s' : x >= 1024 ? (x / 1024).toFixed(1) + ' KiB/s' : x.toFixed(0) + ' B/s';
function cell(row, text, numeric) { const td = row.insertCell(); td.textContent = text; if (numeric) td.className = 'num'; }
function drawEdges(edges) {
  const layer = document.getElementById('edges');
  layer.replaceChildren();
  for (const e of edges) {
    const g = document.createElementNS(svgNs, 'g');
    g.setAttribute('class', 'edge'); g.dataset.edge = e.name; g.dataset.health = e.health;
    const x = (e.lon + 180) / 360 * W, y = (90 - e.lat) / 180 * H;
    const c = document.createElementNS(svgNs, 'circle');
    c.setAttribute('cx', x); c.setAttribute('cy', y); c.setAttribute('r', 5);
    const t = document.createElementNS(svgNs, 'text');
    t.setAttribute('x', x + 7); t.setAttribute('y', y + 3); t.textContent = e.name;
    const title = document.createElementNS(svgNs, 'title'); title.textContent = e.name + ': ' + e.health + (e.reason ? ' (' + e.reason + ')' : '');
    g.append(c, t, title); layer.append(g);
  }
  const body = document.querySelector('#edge-table tbody');
  body.replaceChildren();
  for (const e of edges) {
    const row = body.insertRow(); row.dataset.edge = e.name; row.dataset.health = e.health;
    cell(row, e.name); cell(row, e.health);
    cell(row, fmt(e.requestsPerSecond), true); cell(row, e.hitRatio === null ? '–' : (e.hitRatio * 100).toFixed(0) + ' %', true);
    cell(row, bytes(e.bytesPerSecond), true); cell(row, e.lag === null ? '–' : String(e.lag), true);
  }
}
function drawPools(pools) {
  const box = document.getElementById('pools');
  box.replaceChildren();
  for (const p of pools) {
    const h = document.createElement('h3'); h.textContent = p.pool; h.style.fontSize = '.9rem';
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const t of ['client network', 'near', 'answer']) { const th = document.createElement('th'); th.textContent = t; head.append(th); }
    const body = table.createTBody();
    for (const a of p.answers) { const row = body.insertRow(); cell(row, a.network); cell(row, a.place); cell(row, a.edges.join(', ') || '–'); }
    box.append(h, table);
  }
}
function addFeed(items) {
  const list = document.getElementById('feed');
  for (const item of items) {
    const li = document.createElement('li'); li.dataset.kind = item.kind;
    const kind = document.createElement('span'); kind.className = 'kind'; kind.textContent = item.kind;
    const time = document.createElement('small'); time.textContent = ' ' + item.at.slice(11, 19);
    li.append(kind, document.createTextNode(item.text), time);
    list.prepend(li);
  }
  while (list.children.length > 50) list.lastElementChild.remove();
}
const events = new EventSource('/dashboard/events');
const status = document.getElementById('status');
events.addEventListener('snapshot', (m) => {
  const s = JSON.parse(m.data);
  drawEdges(s.edges); drawPools(s.pools);
  status.textContent = 'updated ' + s.at.slice(11, 19) + ' UTC' + (s.journalSeq === null ? '' : ' · journal at seq ' + s.journalSeq);
});
events.addEventListener('feed', (m) => addFeed(JSON.parse(m.data)));
events.onerror = () => { status.textContent = 'connection lost; the browser retries'; };
`;

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dnscdn</title><meta name="viewport" content="width=device-width">
<style>${STYLE}</style></head>
<body>
<h1>dnscdn</h1><div id="status">connecting…</div>
<svg viewBox="0 0 ${MAP_WIDTH} ${MAP_HEIGHT}" role="img" aria-label="edges on a world map, coloured by health">
<path class="land" d="${landPath()}"/><g id="edges"></g></svg>
<h2>Edges</h2>
<table id="edge-table"><thead><tr><th>edge</th><th>health</th><th>requests/s</th><th>hit ratio</th><th>bytes served</th><th>push lag (ops)</th></tr></thead><tbody></tbody></table>
<h2>Pools: the answer for sample client networks</h2><div id="pools"></div>
<h2>Health changes, pushes and purges</h2><ul id="feed"></ul>
<p><small>Map: Natural Earth 1:110m land (public domain), via the world-atlas package.</small></p>
<script>${SCRIPT}</script>
</body></html>
`;
}
