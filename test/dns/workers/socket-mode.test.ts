/** How DNS workers share the UDP port (src/dns/workers/socket-mode.ts): found by binding, not by version. */
import { describe, expect, it } from 'vitest';
import { detectUdpSocketMode } from '../../../src/dns/workers/socket-mode.js';

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
