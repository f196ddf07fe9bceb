/** The TCP limits as the deployment file and the flags give them, and the server options they become. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { addTcpFlags, tcpConfigFromFlags, tcpServerOptions, type TcpFlags } from '../../src/dns/tcp-settings.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/dnscdn/test.yaml';

function withTcp(lines: string[]): string {
  return ['dns:', '  listen: 127.0.0.1:5353', '  tcp:', ...lines.map((l) => `    ${l}`), 'edges: {}', ''].join('\n');
}

function errorOf(text: string): ConfigError {
  try {
    parseDeployment(text, FILE, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

function parseFlags(args: string[]): TcpFlags {
  const cmd = addTcpFlags(new Command('dns').exitOverride());
  cmd.parse(args, { from: 'user' });
  return cmd.opts<TcpFlags>();
}

describe('dns.tcp in the deployment file', () => {
  it('reads every limit, in the units of the file', () => {
    const d = parseDeployment(withTcp(['idleTimeout: 5s', 'frameTimeout: 750ms', 'maxConnections: 512', 'maxPerNetwork: 8', 'ipv4Prefix: 32', 'ipv6Prefix: 64']), FILE, { env: {} });
    expect(d.dns.tcp).toEqual({ idleTimeoutMs: 5000, frameTimeoutMs: 750, maxConnections: 512, maxPerNetwork: 8, ipv4Prefix: 32, ipv6Prefix: 64 });
    expect(tcpServerOptions(d.dns.tcp)).toEqual({
      tcp: { idleTimeoutMs: 5000, frameTimeoutMs: 750 },
      maxTcpConnections: 512,
      tcpAdmission: { maxPerNetwork: 8, ipv4Prefix: 32, ipv6Prefix: 64 },
    });
  });

  it('leaves the server defaults for what it does not set', () => {
    expect(parseDeployment(withTcp(['maxPerNetwork: 4']), FILE, { env: {} }).dns.tcp).toEqual({ maxPerNetwork: 4 });
    expect(tcpServerOptions(undefined)).toEqual({ tcp: {}, tcpAdmission: {} });
  });

  it.each([
    [['maxPerNetwork: 0'], /test\.yaml:4 \(dns\.tcp\.maxPerNetwork\): 0 is below the minimum 1/],
    [['ipv4Prefix: 33'], /test\.yaml:4 \(dns\.tcp\.ipv4Prefix\): 33 is above the maximum 32/],
    [['ipv6Prefix: 56.5'], /\(dns\.tcp\.ipv6Prefix\): expected a whole number/],
    [['frameTimeout: 0s'], /test\.yaml:4 \(dns\.tcp\.frameTimeout\): must be longer than 0/],
    [['idleTimeout: soon'], /\(dns\.tcp\.idleTimeout\): "soon" is not a duration/],
    [['perNetwork: 4'], /\(dns\.tcp\.perNetwork\): unknown key "perNetwork"/],
  ])('refuses %j with the file, line and key', (lines, message) => {
    expect(errorOf(withTcp(lines)).message).toMatch(message);
  });
});

describe('the --tcp-* flags of dnscdn dns', () => {
  it('take the same units as the file', () => {
    const flags = parseFlags(['--tcp-idle-timeout', '3s', '--tcp-frame-timeout', '500ms', '--tcp-max-connections', '64', '--tcp-max-per-network', '4', '--tcp-ipv4-prefix', '28', '--tcp-ipv6-prefix', '48']);
    expect(tcpConfigFromFlags(flags)).toEqual({ idleTimeoutMs: 3000, frameTimeoutMs: 500, maxConnections: 64, maxPerNetwork: 4, ipv4Prefix: 28, ipv6Prefix: 48 });
    expect(tcpConfigFromFlags(parseFlags([]))).toEqual({});
  });

  it.each([
    [['--tcp-max-per-network', '0'], /--tcp-max-per-network: "0" is not a whole number from 1 to 65535/],
    [['--tcp-ipv6-prefix', '129'], /--tcp-ipv6-prefix: "129" is not a whole number from 0 to 128/],
    [['--tcp-frame-timeout', '0'], /--tcp-frame-timeout: must be longer than 0/],
    [['--tcp-idle-timeout', 'never'], /--tcp-idle-timeout: "never" is not a duration/],
  ])('refuse %j with the flag and the reason', (args, message) => {
    expect(() => parseFlags(args)).toThrow(message);
  });
});
