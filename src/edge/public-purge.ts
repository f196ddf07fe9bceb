/**
 * `PURGE /path` on the edge's public port, as Varnish's ACL-guarded purge (`if (!client.ip ~ purge)`): the
 * client must be in an allow-listed network AND present the admin token. Either alone is not enough: a
 * leaked token is useless from outside the list, and a trusted network is not a credential. With no list
 * (the default) the public port refuses PURGE and points at the admin listener, which needs only the token.
 */
import { BearerCheck, type Authorization } from '../http/bearer.js';
import type { HeaderMap } from '../http/header-value.js';
import { AddressAcl } from '../net/acl.js';
import { parseCidr } from '../net/cidr.js';

export type PurgeVerdict = Authorization | { ok: false; status: 405; reason: string };

export class PublicPurge {
  private readonly acl: AddressAcl;
  private readonly auth: BearerCheck;

  /** `allow`: CIDRs such as `10.0.0.0/8` or `::1/128`. */
  constructor(allow: readonly string[], token: string | undefined) {
    for (const text of allow) {
      const parsed = parseCidr(text);
      if (!parsed.ok) throw new Error(`bad PURGE allow-list entry "${text}": ${parsed.reason}`);
    }
    this.acl = new AddressAcl(allow);
    this.auth = new BearerCheck(token);
  }

  authorize(clientAddress: string, headers: HeaderMap): PurgeVerdict {
    if (this.acl.empty) return { ok: false, status: 405, reason: 'PURGE is served on the admin listener' };
    // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d; the list is written in IPv4.
    const address = clientAddress.startsWith('::ffff:') ? clientAddress.slice(7) : clientAddress;
    if (!this.acl.allows(address)) return { ok: false, status: 403, reason: 'PURGE is not allowed from this address' };
    return this.auth.authorize(headers);
  }
}
