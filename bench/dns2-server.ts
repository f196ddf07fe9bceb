/**
 * The dns2 comparison for bench:dns: an authoritative server for the demo zone written the way dns2's
 * README shows (createServer + a request handler that fills `response.answers`), so it measures what a
 * typical Node.js DNS server built on the most used npm package costs per query. Records are loaded
 * with dnscdn's zone parser; the handler answers exact names, one CNAME step, the wildcard, NODATA and
 * NXDOMAIN (SOA in authority), which is what the query mix asks.
 *
 *   node dist-bench/bench/dns2-server.js --zones zones --zone cdn.test --listen 127.0.0.1:5401
 */
import dns2 from 'dns2';
import { join } from 'node:path';
import { parseMasterFile } from '../src/dns/zone/parse.js';
import type { ResourceRecord } from '../src/dns/types.js';
import { parseHostPort } from '../src/net/address.js';

const { Packet } = dns2;
type Dns2Resource = Partial<dns2.Packet.Resource>;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return process.argv[i + 1] !== undefined && i >= 0 ? process.argv[i + 1]! : fallback;
}

/** Our record as a dns2 resource (the rdata fields dns2's encoders read). */
function toDns2(r: ResourceRecord): Dns2Resource | undefined {
  const base = { name: r.name, class: Packet.CLASS.IN, ttl: r.ttl ?? 300 };
  switch (r.type) {
    case 'A':
      return { ...base, type: Packet.TYPE.A, address: r.data };
    case 'AAAA':
      return { ...base, type: Packet.TYPE.AAAA, address: r.data };
    case 'CNAME':
      return { ...base, type: Packet.TYPE.CNAME, domain: r.data };
    case 'PTR':
      return { ...base, type: Packet.TYPE.PTR, domain: r.data };
    case 'NS':
      return { ...base, type: Packet.TYPE.NS, ns: r.data };
    case 'MX':
      return { ...base, type: Packet.TYPE.MX, exchange: r.data.exchange, priority: r.data.preference ?? 0 };
    case 'TXT': {
      const parts = Array.isArray(r.data) ? r.data : [r.data];
      return { ...base, type: Packet.TYPE.TXT, data: parts.map((p) => p.toString()) };
    }
    case 'SRV':
      return { ...base, type: Packet.TYPE.SRV, priority: r.data.priority ?? 0, weight: r.data.weight ?? 0, port: r.data.port, target: r.data.target };
    case 'SOA':
      return {
        ...base,
        type: Packet.TYPE.SOA,
        primary: r.data.mname,
        admin: r.data.rname,
        serial: r.data.serial ?? 0,
        refresh: r.data.refresh ?? 0,
        retry: r.data.retry ?? 0,
        expiration: r.data.expire ?? 0,
        minimum: r.data.minimum ?? 0,
      };
    case 'CAA':
      return { ...base, type: Packet.TYPE.CAA, flags: r.data.flags ?? 0, tag: r.data.tag, value: r.data.value };
    default:
      return undefined;
  }
}

const zonesDir = option('--zones', 'zones');
const apex = option('--zone', 'cdn.test');
const listen = parseHostPort(option('--listen', '127.0.0.1:5401'));
const parsed = parseMasterFile(join(zonesDir, `${apex}.zone`), { origin: apex, includeDir: zonesDir });
if (parsed.errors.length > 0) throw new Error(parsed.errors.map((e) => e.message).join('\n'));

/** name -> type -> records (names lowercased). */
const names = new Map<string, Map<number, Dns2Resource[]>>();
for (const { record } of parsed.records) {
  const res = toDns2(record);
  if (res === undefined || res.type === undefined) continue;
  const name = record.name.toLowerCase();
  let types = names.get(name);
  if (!types) names.set(name, (types = new Map()));
  types.set(res.type, [...(types.get(res.type) ?? []), res]);
}
const soa = names.get(apex)?.get(Packet.TYPE.SOA) ?? [];
/** Names that exist only because something lives below them (RFC 4592 empty non-terminals): NODATA, not NXDOMAIN. */
const nonTerminals = new Set<string>();
for (const name of names.keys()) {
  const labels = name.split('.');
  for (let i = 1; i < labels.length; i++) nonTerminals.add(labels.slice(i).join('.'));
}

function lookup(name: string): Map<number, Dns2Resource[]> | undefined {
  const exact = names.get(name);
  if (exact) return exact;
  const dot = name.indexOf('.');
  return dot < 0 ? undefined : names.get(`*${name.slice(dot)}`);
}

const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const question = request.questions[0];
    if (question === undefined) return;
    const qname = question.name.toLowerCase();
    response.header.aa = 1;
    const node = lookup(qname);
    if (node === undefined) {
      response.header.rcode = nonTerminals.has(qname) ? 0 : 3;
      response.authorities.push(...(soa as dns2.Packet.Resource[]));
      void send(response);
      return;
    }
    const cname = node.get(Packet.TYPE.CNAME);
    if (cname !== undefined && question.type !== Packet.TYPE.CNAME) {
      response.answers.push(...(cname as dns2.Packet.Resource[]));
      const target = lookup((cname[0]!.domain ?? '').toLowerCase())?.get(question.type) ?? [];
      response.answers.push(...(target as dns2.Packet.Resource[]));
    } else {
      const records = node.get(question.type);
      if (records) response.answers.push(...records.map((r) => ({ ...r, name: question.name }) as dns2.Packet.Resource));
      else response.authorities.push(...(soa as dns2.Packet.Resource[]));
    }
    void send(response);
  },
});
await server.listen({ udp: { port: listen.port, address: listen.host } });
process.stdout.write(`dns2 listening on ${listen.host}:${listen.port}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
