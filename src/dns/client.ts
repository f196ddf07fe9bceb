import type { ClientSubnet } from './types.js';

/** Who asked: the source of the datagram or connection, plus the RFC 7871 client subnet if the query carried one. */
export interface ClientInfo {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
  clientSubnet?: ClientSubnet;
}
