/**
 * A `lookup` for node:dgram sockets that mostly send to IP literals, as a server does when it answers
 * `rinfo.address`. With the default, every `send` goes through dns.lookup, which for a literal still
 * runs the IP-address regular expressions and then defers the send by a process.nextTick; in the DNS
 * server's profile (bench:dns, resolver cache hits) that was the largest JavaScript cost of a reply
 * after the send itself. A literal is answered at once, in the same call; a name (a listen address
 * such as `localhost`) still goes to dns.lookup.
 *
 * One consequence: `bind` to a literal emits 'listening' within the call, so pass bind its callback
 * rather than listening for the event afterwards.
 */
import type { SocketOptions } from 'node:dgram';
import { lookup } from 'node:dns';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * 6 for anything with a colon (no host name has one), 4 for digits and dots only, else 0. Loose on
 * purpose: what is not a valid literal fails in libuv's parse with EINVAL, as it would after dns.lookup.
 */
function literalFamily(address: string): 0 | 4 | 6 {
  if (address.includes(':')) return 6;
  if (address.length === 0) return 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c !== DOT && (c < DIGIT_0 || c > DIGIT_9)) return 0;
  }
  return 4;
}

export function literalAddressLookup(address: string, family: number, callback: LookupCallback): void {
  const literal = literalFamily(address);
  if (literal !== 0) callback(null, address, literal);
  else lookup(address, family, callback);
}

/** `createSocket` options for a socket that answers the addresses it received from. */
export function literalSendOptions(type: 'udp4' | 'udp6'): Pick<SocketOptions, 'type' | 'lookup'> {
  // dgram calls lookup(address, 4 | 6, callback); its type says LookupOneOptions.
  return { type, lookup: literalAddressLookup as unknown as SocketOptions['lookup'] };
}
