/** Address ACLs from CIDR lists (DNS recursion and zone transfer, the edge's public PURGE): one BlockList, checked per client address. */
import { BlockList, isIPv6 } from 'node:net';

export class AddressAcl {
  private readonly list = new BlockList();
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
    return !this.empty && this.list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  }
}
