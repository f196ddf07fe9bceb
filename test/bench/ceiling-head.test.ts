/**
 * The Node ceilings of bench:edge answer with the head a dnscdn hit carries (bench/objects.ts ceilingHead), so a
 * ratio against them compares the same response. This keeps them so: a real origin serving the bench objects as
 * bench:edge does, a real edge in front of it, and the ceiling's field names, in order, against what the edge's
 * hit sends; the values the ceiling cannot know (dates, the age) only by shape.
 */
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchObjects, ceilingHead } from '../../bench/objects.js';
import { startEdge, type EdgeServer } from '../../src/edge/server.js';
import { OriginServer } from '../../src/origin/server.js';
import { tempDir } from '../origin/helpers.js';

let origin: OriginServer;
let edge: EdgeServer;

beforeAll(async () => {
  const content = await tempDir('ceiling-head');
  for (const o of benchObjects()) await writeFile(content + o.path, o.body);
  // As bench/edge-servers.ts startBenchOrigin starts `dnscdn origin`.
  origin = await OriginServer.start({ contentDir: content, listen: { host: '127.0.0.1', port: 0 }, defaultCacheControl: 'public, max-age=3600' });
  edge = await startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 16 << 20 });
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
});

/** The raw header lines of a GET through the edge, as `[name, value]` with lower-case names. */
function headLines(path: string): Promise<Array<[string, string]>> {
  return new Promise((resolve, reject) => {
    request(`${edge.url}${path}`, (res) => {
      res.resume();
      const lines: Array<[string, string]> = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
      res.on('end', () => resolve(lines));
    })
      .on('error', reject)
      .end();
  });
}

const pairs = (list: readonly string[]): Array<[string, string]> => Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i]!, list[2 * i + 1]!]);

describe('bench ceiling head', () => {
  for (const o of benchObjects()) {
    it(`is the head of a dnscdn hit on ${o.path}: same fields in the same order, same values but for dates and age`, async () => {
      await headLines(o.path); // the fill
      const hit = (await headLines(o.path)).filter(([name]) => name !== 'connection' && name !== 'keep-alive');
      const ceiling = pairs(ceilingHead(o, false));
      expect(ceiling.map(([name]) => name)).toEqual(hit.map(([name]) => name));
      const byName = new Map(hit);
      for (const [name, value] of ceiling) {
        if (name === 'date' || name === 'last-modified') expect(new Date(value).toUTCString()).toBe(value);
        else if (name === 'age') expect(byName.get('age')).toMatch(/^\d+$/);
        else expect([name, value]).toEqual([name, byName.get(name)]);
      }
    });
  }

  it('bare: the 4 fields the ceilings sent before', () => {
    expect(pairs(ceilingHead(benchObjects()[0]!, true)).map(([name]) => name)).toEqual(['content-type', 'content-length', 'cache-control', 'age']);
  });
});
