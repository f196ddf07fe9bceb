import { formatIp, parseIp } from './cidr.js';
import type { HostPort } from './address.js';

/**
 * Where a role's admin listener goes when neither the deployment file nor a flag says: loopback beside the
 * public listener. The same address if that is itself loopback (the demo's edges on 127.0.0.11-15 each get
 * their own), 127.0.0.1 otherwise; the public port + 1000 (edge 8080 -> 9080, origin 8000 -> 9000,
 * distributor 8100 -> 9100), port 0 stays 0. Undefined when that port would pass 65535: name one then.
 */
export function defaultAdminAddress(publicListener: HostPort): HostPort | undefined {
  const port = publicListener.port === 0 ? 0 : publicListener.port + 1000;
  if (port > 65535) return undefined;
  const ip = parseIp(publicListener.host);
  const loopback = ip !== undefined && (ip.family === 4 ? ip.bytes[0] === 127 : formatIp(ip) === '::1');
  return { host: loopback ? publicListener.host : '127.0.0.1', port };
}
