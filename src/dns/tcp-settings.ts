/**
 * The TCP limits of the DNS server, from the deployment file (`dns.tcp`) or from the flags of
 * `dnscdn dns`, turned into server options. Both take the same units and ranges:
 *   --tcp-idle-timeout DURATION    close a connection idle this long after opening or its last reply (10s)
 *   --tcp-frame-timeout DURATION   a query must arrive whole this long after its first byte (2s)
 *   --tcp-max-connections N        open connections per listen address (256)
 *   --tcp-max-per-network N        open connections per client network (16)
 *   --tcp-ipv4-prefix BITS         what one IPv4 client network is (24)
 *   --tcp-ipv6-prefix BITS         what one IPv6 client network is (56)
 */
import { Option, type Command } from 'commander';
import { DNS_TCP_RANGES, type DnsTcpConfig } from '../config/types.js';
import { durationFlag } from '../cli/flags.js';
import { integerFlag } from './flag-values.js';
import type { DnsServerOptions } from './server.js';

/** What commander hands the action for these flags. */
export interface TcpFlags {
  tcpIdleTimeout?: number;
  tcpFrameTimeout?: number;
  tcpMaxConnections?: number;
  tcpMaxPerNetwork?: number;
  tcpIpv4Prefix?: number;
  tcpIpv6Prefix?: number;
}

export function addTcpFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tcp-idle-timeout <duration>', 'close a TCP connection idle this long after opening or its last reply (default 10s)').argParser(durationFlag('--tcp-idle-timeout', 1)))
    .addOption(new Option('--tcp-frame-timeout <duration>', 'a TCP query must arrive whole this long after its first byte (default 2s)').argParser(durationFlag('--tcp-frame-timeout', 1)))
    .addOption(new Option('--tcp-max-connections <n>', 'open TCP connections per listen address (default 256)').argParser(integerFlag('--tcp-max-connections', DNS_TCP_RANGES.maxConnections)))
    .addOption(new Option('--tcp-max-per-network <n>', 'open TCP connections per client network (default 16)').argParser(integerFlag('--tcp-max-per-network', DNS_TCP_RANGES.maxPerNetwork)))
    .addOption(new Option('--tcp-ipv4-prefix <bits>', 'prefix length of one IPv4 client network (default 24)').argParser(integerFlag('--tcp-ipv4-prefix', DNS_TCP_RANGES.ipv4Prefix)))
    .addOption(new Option('--tcp-ipv6-prefix <bits>', 'prefix length of one IPv6 client network (default 56)').argParser(integerFlag('--tcp-ipv6-prefix', DNS_TCP_RANGES.ipv6Prefix)));
}

/** The flags given, in the file's shape (so that flags can override the file key by key). */
export function tcpConfigFromFlags(flags: TcpFlags): DnsTcpConfig {
  return {
    ...(flags.tcpIdleTimeout !== undefined && { idleTimeoutMs: flags.tcpIdleTimeout }),
    ...(flags.tcpFrameTimeout !== undefined && { frameTimeoutMs: flags.tcpFrameTimeout }),
    ...(flags.tcpMaxConnections !== undefined && { maxConnections: flags.tcpMaxConnections }),
    ...(flags.tcpMaxPerNetwork !== undefined && { maxPerNetwork: flags.tcpMaxPerNetwork }),
    ...(flags.tcpIpv4Prefix !== undefined && { ipv4Prefix: flags.tcpIpv4Prefix }),
    ...(flags.tcpIpv6Prefix !== undefined && { ipv6Prefix: flags.tcpIpv6Prefix }),
  };
}

/** Server options for the limits that are set; the server's defaults hold for the rest. */
export function tcpServerOptions(c: DnsTcpConfig = {}): Pick<DnsServerOptions, 'tcp' | 'maxTcpConnections' | 'tcpAdmission'> {
  return {
    tcp: {
      ...(c.idleTimeoutMs !== undefined && { idleTimeoutMs: c.idleTimeoutMs }),
      ...(c.frameTimeoutMs !== undefined && { frameTimeoutMs: c.frameTimeoutMs }),
    },
    ...(c.maxConnections !== undefined && { maxTcpConnections: c.maxConnections }),
    tcpAdmission: {
      ...(c.maxPerNetwork !== undefined && { maxPerNetwork: c.maxPerNetwork }),
      ...(c.ipv4Prefix !== undefined && { ipv4Prefix: c.ipv4Prefix }),
      ...(c.ipv6Prefix !== undefined && { ipv6Prefix: c.ipv6Prefix }),
    },
  };
}
