/**
 * Who may recurse (issue 6; RFC 5358: open resolvers are abused for amplification, so the default
 * is loopback only). Clients outside the list get REFUSED for names outside our zones.
 */
import { ConfigError } from '../../errors.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../net/cidr.js';

export const DEFAULT_RECURSION_ACL = ['127.0.0.0/8', '::1/128'];

export class RecursionAcl {
  private constructor(private readonly prefixes: Cidr[]) {}

  /** Parses CIDRs (`10.0.0.0/8`, `::1`); `source` names the flag or file key in the error. */
  static parse(cidrs: readonly string[], source = '--allow-recursion'): RecursionAcl {
    const prefixes = cidrs.map((text) => {
      const parsed = parseCidr(text.trim());
      if (!parsed.ok) throw new ConfigError({ file: source }, parsed.reason);
      return parsed.cidr;
    });
    return new RecursionAcl(prefixes);
  }

  allows(address: string): boolean {
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
    const text = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    const ip = parseIp(text);
    return ip !== undefined && this.prefixes.some((c) => cidrContains(c, ip));
  }
}
