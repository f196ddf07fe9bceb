/**
 * The query mix for bench:dns against the demo zone (zones/cdn.test.zone), in dnsperf's input format
 * ("name type" per line). Shares are a guess at what an authoritative CDN zone sees: mostly address
 * lookups of existing and rotated names, a real share of NXDOMAIN (typos, probes, random-subdomain
 * noise) and NODATA (AAAA for IPv4-only names), some CNAME chasing and service records.
 */
import { seededRandom } from './random.js';

export interface QueryClass {
  label: string;
  share: number;
  queries: ReadonlyArray<readonly [name: string, type: string]>;
}

export const QUERY_MIX: readonly QueryClass[] = [
  {
    label: 'existing',
    share: 0.35,
    queries: [
      ['ns1.cdn.test', 'A'],
      ['ns2.cdn.test', 'AAAA'],
      ['mail.cdn.test', 'A'],
      ['api.cdn.test', 'A'],
      ['api.cdn.test', 'AAAA'],
      ['cdn.test', 'SOA'],
      ['cdn.test', 'NS'],
      ['cdn.test', 'MX'],
      ['a.b.deep.cdn.test', 'A'],
      ['img.wild.cdn.test', 'A'],
    ],
  },
  { label: 'round-robin', share: 0.25, queries: [['rr.cdn.test', 'A'], ['rr.cdn.test', 'AAAA'], ['www.cdn.test', 'A']] },
  { label: 'cname', share: 0.1, queries: [['cdn.cdn.test', 'A'], ['cdn.cdn.test', 'AAAA']] },
  {
    label: 'nxdomain',
    share: 0.15,
    queries: Array.from({ length: 20 }, (_, i) => [`missing${i}.cdn.test`, 'A'] as const),
  },
  {
    label: 'nodata',
    share: 0.1,
    queries: [
      ['www.cdn.test', 'AAAA'],
      ['mail.cdn.test', 'AAAA'],
      ['deep.cdn.test', 'A'],
      ['b.deep.cdn.test', 'A'],
      ['ns1.cdn.test', 'TXT'],
    ],
  },
  { label: 'service', share: 0.05, queries: [['_http._tcp.cdn.test', 'SRV'], ['cdn.test', 'TXT']] },
];

/** `lines` queries drawn from the mix with a fixed seed, one "name type" per line. */
export function dnsperfQueryFile(lines = 10_000, seed = 1035): string {
  const random = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    let r = random();
    let cls = QUERY_MIX[QUERY_MIX.length - 1]!;
    for (const c of QUERY_MIX) {
      if (r < c.share) {
        cls = c;
        break;
      }
      r -= c.share;
    }
    const [name, type] = cls.queries[Math.floor(random() * cls.queries.length)]!;
    out.push(`${name} ${type}`);
  }
  return `${out.join('\n')}\n`;
}
