/**
 * The world's land as one SVG path, for the dashboard's map. The outline is Natural Earth's 1:110m land
 * (public domain, naturalearthdata.com), as the `world-atlas` package redistributes it in TopoJSON; it is read
 * from the installed package, so the page needs no network. Projection: equirectangular (x from longitude,
 * y from latitude), which is what lets the page place an edge from its configured lat/lon with two
 * multiplications.
 *
 * TopoJSON (github.com/topojson/topojson-specification): a quantized topology stores each arc once, as integer
 * positions delta-encoded from the previous one, scaled back with `transform`; polygons list arc indexes, a
 * negative index ~i meaning arc i reversed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Topology {
  type: 'Topology';
  transform: { scale: [number, number]; translate: [number, number] };
  arcs: Array<Array<[number, number]>>;
  objects: Record<string, { type: 'GeometryCollection'; geometries: Geometry[] }>;
}

type Geometry = { type: 'Polygon'; arcs: number[][] } | { type: 'MultiPolygon'; arcs: number[][][] };

/** Map size in SVG user units: 2 units per degree. */
export const MAP_WIDTH = 720;
export const MAP_HEIGHT = 360;

/** Where a point lands on the map. */
export function project(lat: number, lon: number): { x: number; y: number } {
  return { x: ((lon + 180) / 360) * MAP_WIDTH, y: ((90 - lat) / 180) * MAP_HEIGHT };
}

let cached: string | undefined;

/** The land outline as an SVG path `d`, computed once per process. */
export function landPath(): string {
  cached ??= pathOf(readTopology());
  return cached;
}

function readTopology(): Topology {
  const file = createRequire(import.meta.url).resolve('world-atlas/land-110m.json');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Topology;
  if (parsed.type !== 'Topology' || !parsed.objects.land) throw new Error(`${file}: not a TopoJSON topology with a "land" object`);
  return parsed;
}

/** Absolute positions of every arc, in degrees. */
function decodeArcs(t: Topology): Array<Array<[number, number]>> {
  const [sx, sy] = t.transform.scale;
  const [tx, ty] = t.transform.translate;
  return t.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]): [number, number] => {
      x += dx;
      y += dy;
      return [x * sx + tx, y * sy + ty];
    });
  });
}

function pathOf(t: Topology): string {
  const arcs = decodeArcs(t);
  const ring = (indexes: number[]): string => {
    const points: Array<[number, number]> = [];
    for (const i of indexes) {
      const arc = i >= 0 ? arcs[i]! : [...arcs[~i]!].reverse();
      // Consecutive arcs share their joining point.
      points.push(...(points.length > 0 ? arc.slice(1) : arc));
    }
    let previousLon = Number.NaN;
    return points.map(([lon, lat]) => {
      const { x, y } = project(lat, lon);
      // A ring that crosses the antimeridian (Chukotka, Fiji, Antarctica) jumps from one side of the map to
      // the other: start a new subpath there instead of drawing a line across the world.
      const move = !(Math.abs(lon - previousLon) <= 180);
      previousLon = lon;
      return `${move ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    }).join('') + 'Z';
  };
  let d = '';
  for (const g of t.objects.land!.geometries) {
    const polygons = g.type === 'Polygon' ? [g.arcs] : g.arcs;
    for (const polygon of polygons) for (const r of polygon) d += ring(r);
  }
  return d;
}
