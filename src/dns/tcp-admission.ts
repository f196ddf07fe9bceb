/**
 * Who may open a DNS TCP connection: a cap per client network on top of the per-listener cap, so
 * that one client cannot take every slot and lock everyone else out of TCP, including the clients
 * retrying a truncated UDP answer (RFC 7766 §5: TCP is a required transport, not a fallback).
 * Slots are shared by all listen addresses of one server. State is bounded: a network's entry exists
 * only while it holds a connection (at most the listeners' connection caps in total).
 */
import { clientNetwork, type NetworkPrefixLengths } from '../net/client-network.js';

export interface TcpAdmissionLimits {
  /**
   * Open connections one client network may hold. 16 leaves room for a NAT or a resolver farm with
   * several pipelining upstream connections, and keeps one network at 1/16 of the default 256.
   */
  maxPerNetwork: number;
  /** What one client network is: /24 for IPv4 and /56 for IPv6 by default (see net/client-network.ts). */
  ipv4Prefix: number;
  ipv6Prefix: number;
}

export const DEFAULT_TCP_ADMISSION: TcpAdmissionLimits = { maxPerNetwork: 16, ipv4Prefix: 24, ipv6Prefix: 56 };

/** Why a connection was closed at once, before any byte was read. */
export type TcpRefusalReason = 'listener_cap' | 'network_cap';

export class TcpAdmission {
  /** Open connections per client network; an entry is deleted when its count drops to zero. */
  private readonly open = new Map<string, number>();

  private readonly prefixes: NetworkPrefixLengths;

  constructor(private readonly limits: TcpAdmissionLimits) {
    this.prefixes = { ipv4: limits.ipv4Prefix, ipv6: limits.ipv6Prefix };
  }

  /**
   * Takes a slot for a connection from `address`. Returns the function that gives it back (call it
   * once, when the connection closes; later calls do nothing), or undefined when the client's network
   * is at its cap (or `address` is not an IP address).
   */
  admit(address: string): (() => void) | undefined {
    const network = clientNetwork(address, this.prefixes);
    if (network === undefined) return undefined;
    const held = this.open.get(network) ?? 0;
    if (held >= this.limits.maxPerNetwork) return undefined;
    this.open.set(network, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(network) ?? 1) - 1;
      if (left <= 0) this.open.delete(network);
      else this.open.set(network, left);
    };
  }

  /** Client networks holding at least one connection. */
  get networks(): number {
    return this.open.size;
  }
}
