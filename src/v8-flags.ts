/**
 * V8 flags every dnscdn process sets before it serves (runCli, so cluster workers too).
 *
 * --no-allocation-site-pretenuring. V8 watches how often the objects of each object-literal site
 * survive young-generation GCs, and once a site's objects mostly survive it allocates them in the old
 * generation directly. A server's per-request objects (the DNS query context, the client info, the
 * parsed query) come from the same sites whether the request is answered at once or waits for a
 * network round trip. When V8 happens to sample a site while many such requests are waiting (a cache
 * warming up, a slow upstream), it pretenures it for good, and from then on every request's context
 * is born old, already garbage, yet pointing at young objects (the datagram, the reply) that each
 * scavenge must then keep and promote. Measured on the resolver's cache hits (dnsperf on core 0,
 * dnscdn on core 1, Node 20.20): in most processes 2.6 MB survived every scavenge, pauses were 6-7 ms
 * instead of 0.4 ms and answers 97-110k q/s; with the flag every process stayed at 0.4 ms pauses and
 * 120-134k q/s. What is lost: objects that do live long are copied once more before promotion.
 */
import { setFlagsFromString } from 'node:v8';

export const SERVER_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

export function applyServerV8Flags(set: (flag: string) => void = setFlagsFromString): void {
  for (const flag of SERVER_V8_FLAGS) set(flag);
}
