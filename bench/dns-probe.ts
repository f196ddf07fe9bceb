/**
 * One-off DNS questions from the benchmark process (readiness checks, checking that steering answers as
 * configured); `ask` itself is src/dns/ask.ts.
 */
import type { ClientSubnet } from '../src/dns/types.js';
import { ask } from '../src/dns/ask.js';

export { ask, type ProbeAnswer } from '../src/dns/ask.js';

/** True when the server answers a question about `zone` at all. */
export async function dnsAnswers(host: string, port: number, zone = 'cdn.test'): Promise<boolean> {
  return (await ask(host, port, zone, 'SOA', undefined, 300)) !== undefined;
}

/** The RFC 7871 option as dnsperf's `-E code:hex` argument (option code 8). */
export function ecsOptionArgument(subnet: ClientSubnet): string {
  const bytes = Math.ceil(subnet.sourcePrefixLength / 8);
  const address = subnet.address.split('.').map(Number).slice(0, bytes);
  const data = Buffer.from([0, subnet.family, subnet.sourcePrefixLength, 0, ...address]);
  return `8:${data.toString('hex')}`;
}
