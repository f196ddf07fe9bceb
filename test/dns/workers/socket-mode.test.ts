/** How DNS workers share the UDP port (src/dns/workers/socket-mode.ts): found by binding, not by version. */
import { describe, expect, it } from 'vitest';
import { startDnsServer } from '../../../src/dns/server.js';
import { RCODE } from '../../../src/dns/types.js';
import { detectUdpSocketMode } from '../../../src/dns/workers/socket-mode.js';
import { freePortOn, privateLoopback } from '../../net/loopback.js';
import { query, tcpQueries, udpQuery } from '../query-client.js';

/** dgram's `reusePort` arrived in Node 22.12 (and 23.1). */
function runtimeHasReusePort(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 12);
}

describe('detectUdpSocketMode', () => {
  it('finds reuseport exactly where the runtime has SO_REUSEPORT for dgram, else the shared socket', async () => {
    expect(await detectUdpSocketMode()).toBe(runtimeHasReusePort() ? 'reuseport' : 'shared');
  });
});

describe('a DNS server bound for the reuseport mode', () => {
  it('answers over UDP and TCP on its fixed port (reusePort where the runtime has it, a plain exclusive bind elsewhere)', async () => {
    const host = privateLoopback();
    const port = await freePortOn(host);
    const server = await startDnsServer({ zonesDir: 'zones', watchZones: false, listen: [{ host, port }], reusePort: true });
    try {
      expect((await udpQuery(port, query('cdn.test', 'SOA'), host)).rcode).toBe(RCODE.NOERROR);
      expect((await tcpQueries(port, [query('cdn.test', 'SOA')], host))[0]!.rcode).toBe(RCODE.NOERROR);
    } finally {
      await server.close();
    }
  });
});
