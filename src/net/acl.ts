/** Address ACLs from CIDR lists (DNS recursion and zone transfer, the edge's public PURGE): one BlockList, checked per client address. */
import { LRUCache } from 'lru-cache';
import { BlockList, isIPv6 } from 'node:net';

/**
 * Verdicts kept per client address. BlockList.check builds a SocketAddress per call: 1.3 µs measured
 * (taskset on one core, 1M calls), half of a resolver cache hit on the DNS fast path; a kept verdict is a
 * map lookup. Bounded, since every source address can make an entry.
 */
const VERDICTS_KEPT = 4096;

export class AddressAcl {
  private readonly list = new BlockList();
  private readonly verdicts = new LRUCache<string, boolean>({ max: VERDICTS_KEPT });
  readonly empty: boolean;

  /** `cidrs` like '127.0.0.0/8' or '::1' (a bare address is a /32 or /128). Empty = nobody. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [net, bits] = cidr.split('/');
      const type = isIPv6(net!) ? 'ipv6' : 'ipv4';
      this.list.addSubnet(net!, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
    }
    this.empty = cidrs.length === 0;
  }

  allows(address: string): boolean {
    if (this.empty) return false;
    let verdict = this.verdicts.get(address);
    if (verdict === undefined) {
      verdict = this.list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
      this.verdicts.set(address, verdict);
    }
    return verdict;
  }
}
