/**
 * The DNS role's options: every key of the file's `dns` section, every flag of `dnscdn dns`, and a flag
 * given next to `--config` replacing exactly its key (src/dns/setup.ts, src/dns/command.ts).
 */
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { addDnsFlags, dnsOverridesFromFlags, type DnsFlags } from '../../src/dns/command.js';
import { DEFAULT_RECURSION_ACL } from '../../src/dns/resolver/flags.js';
import { DNS_ROLE_DEFAULTS, dnsOptionsFromDeployment, dnsServerOptions, withOverrides, type DnsRoleOptions } from '../../src/dns/setup.js';
import { ConfigError } from '../../src/errors.js';
import { createRegistry } from '../../src/metrics.js';

const FILE = '/etc/dnscdn/test.yaml';
const EVERY_KEY = `dns:
  listen: 127.0.0.1:5353
  zones: zones/
  udpSize: 1400
  admin: 127.0.0.1:9153
  transfer:
    allow: [127.0.0.3/32]
    notify: [127.0.0.4, 127.0.0.5:5300]
    tsigKeys: ['xfr-key:hmac-sha256:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=']
  recursion:
    allow: [10.0.0.0/8]
    rootHints: root.hints
    forwarders: { corp.test: [10.0.0.53] }
    upstreamPort: 5300
    staleWindow: 1h
    randomizeCase: true
  tcp: { idleTimeout: 5s, maxPerNetwork: 8 }
  rrl: { responsesPerSecond: 20, slip: 3, window: 10, ipv4Prefix: 24, ipv6Prefix: 48, exempt: [192.0.2.0/24] }
  queryLogSample: 0.25
  workers: 3
  workerLiveness: { interval: 2s, misses: 4 }
  instances:
    ns2: { listen: [127.0.0.2:5353, "[::2]:5353"], admin: 127.0.0.2:9153 }
    ns3: { listen: 127.0.0.3:5353 }
edges: {}
`;

function fromFile(text = EVERY_KEY): DnsRoleOptions {
  return dnsOptionsFromDeployment(parseDeployment(text, FILE, { env: {} }));
}

function parseFlags(args: string[]): DnsFlags {
  const cmd = addDnsFlags(new Command('dns').exitOverride());
  cmd.parse(args, { from: 'user' });
  return cmd.opts<DnsFlags>();
}

function fileError(dnsLines: string[]): string {
  try {
    parseDeployment(['dns:', ...dnsLines.map((l) => `  ${l}`), 'edges: {}', ''].join('\n'), FILE, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('the dns section of the deployment file', () => {
  it('maps every key onto the role options', () => {
    expect(fromFile()).toEqual({
      listen: [{ host: '127.0.0.1', port: 5353 }],
      zonesDir: '/etc/dnscdn/zones',
      udpPayloadSize: 1400,
      metricsListen: { host: '127.0.0.1', port: 9153 },
      allowTransfer: ['127.0.0.3/32'],
      notify: [{ host: '127.0.0.4', port: 53 }, { host: '127.0.0.5', port: 5300 }],
      tsigKeys: [{ name: 'xfr-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 1) }],
      recursion: {
        allow: ['10.0.0.0/8'],
        rootHints: '/etc/dnscdn/root.hints',
        forwarders: [{ zone: 'corp.test', servers: [{ host: '10.0.0.53', port: 53 }] }],
        upstreamPort: 5300,
        staleWindow: 3600,
        randomizeCase: true,
      },
      tcp: { idleTimeoutMs: 5000, maxPerNetwork: 8 },
      rrl: { responsesPerSecond: 20, slip: 3, window: 10, ipv4Prefix: 24, ipv6Prefix: 48, exempt: ['192.0.2.0/24'] },
      queryLogSample: 0.25,
      workers: 3,
      workerLiveness: { intervalMs: 2000, misses: 4 },
    });
  });

  it('--name takes an instance of dns.instances: its listen and admin, every other key shared', () => {
    const d = parseDeployment(EVERY_KEY, FILE, { env: {} });
    expect(dnsOptionsFromDeployment(d, 'ns2')).toEqual({ ...fromFile(), listen: [{ host: '127.0.0.2', port: 5353 }, { host: '::2', port: 5353 }], metricsListen: { host: '127.0.0.2', port: 9153 } });
    // An instance without an admin address has no admin listener (it does not take the section's: that one is ns1's).
    const { metricsListen: _none, ...ns3 } = fromFile();
    expect(dnsOptionsFromDeployment(d, 'ns3')).toEqual({ ...ns3, listen: [{ host: '127.0.0.3', port: 5353 }] });
    expect(() => dnsOptionsFromDeployment(d, 'ns4')).toThrow(/^\/etc\/dnscdn\/test\.yaml \(dns\.instances\): no instance "ns4" \(--name\); the file names: ns2, ns3$/);
  });

  it('workers default to one per core, and --workers replaces dns.workers', () => {
    expect(DNS_ROLE_DEFAULTS.workers).toBe(availableParallelism());
    expect(fromFile('dns:\n  zones: zones/\nedges: {}\n').workers).toBe(availableParallelism());
    expect(withOverrides(fromFile(), dnsOverridesFromFlags(parseFlags(['--workers', '1']))).workers).toBe(1);
  });

  it('worker liveness defaults to a ping every 1 s and 3 misses; each key of dns.workerLiveness replaces one', () => {
    expect(DNS_ROLE_DEFAULTS.workerLiveness).toEqual({ intervalMs: 1000, misses: 3 });
    expect(fromFile('dns:\n  zones: zones/\nedges: {}\n').workerLiveness).toEqual({ intervalMs: 1000, misses: 3 });
    expect(fromFile('dns:\n  workerLiveness: { misses: 5 }\nedges: {}\n').workerLiveness).toEqual({ intervalMs: 1000, misses: 5 });
    expect(fromFile('dns:\n  workerLiveness: { interval: 0 }\nedges: {}\n').workerLiveness).toEqual({ intervalMs: 0, misses: 3 });
  });

  it('RRL is off without dns.rrl, and takes the documented defaults for the keys it does not set', () => {
    expect(DNS_ROLE_DEFAULTS.rrl).toBeUndefined();
    expect(fromFile('dns:\n  rrl: { responsesPerSecond: 5 }\nedges: {}\n').rrl).toEqual({ responsesPerSecond: 5, slip: 2, window: 15, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [] });
    // The window is a duration like every other key; a bare number stays seconds.
    expect(fromFile('dns:\n  rrl: { responsesPerSecond: 5, window: 2m }\nedges: {}\n').rrl?.window).toBe(120);
    const withRrl = fromFile('dns:\n  rrl: { responsesPerSecond: 5, exempt: 10.0.0.0/8 }\nedges: {}\n');
    expect(dnsServerOptions(withRrl, createRegistry()).rrl).toEqual({ ...withRrl.rrl, exempt: ['10.0.0.0/8'] });
  });

  it('leaves the defaults of dnscdn dns for the keys it does not set', () => {
    expect(fromFile('dns:\n  zones: zones/\nedges: {}\n')).toEqual({ ...DNS_ROLE_DEFAULTS, zonesDir: '/etc/dnscdn/zones' });
    expect(DNS_ROLE_DEFAULTS.recursion.allow).toEqual(DEFAULT_RECURSION_ACL);
  });

  it('forwarders without rootHints make a forwarding-only resolver, as --forward alone does', () => {
    const options = fromFile('dns:\n  recursion:\n    forwarders: { corp.test: [127.0.0.53] }\nedges: {}\n');
    expect(options.recursion.forwarders).toEqual([{ zone: 'corp.test', servers: [{ host: '127.0.0.53', port: 53 }] }]);
    expect(dnsServerOptions(options, createRegistry()).recursion).toBeDefined();
    const flags = withOverrides(DNS_ROLE_DEFAULTS, dnsOverridesFromFlags(parseFlags(['--forward', 'corp.test=127.0.0.53'])));
    expect(flags.recursion).toEqual(options.recursion);
  });

  it.each([
    [['udpSize: 100'], /test\.yaml:2 \(dns\.udpSize\): 100 is below the minimum 512/],
    [['transfer:', '  allow: [10.0.0.1/8]'], /test\.yaml:3 \(dns\.transfer\.allow\[0\]\): bad CIDR/],
    [['transfer:', '  notify: [nowhere:x]'], /\(dns\.transfer\.notify\[0\]\)/],
    [['transfer:', '  tsigKeys: [xfr-key:hmac-md5:AQEBAQEBAQEBAQEBAQEBAQ==]'], /test\.yaml:3 \(dns\.transfer\.tsigKeys\[0\]\): TSIG key "xfr-key": algorithm "hmac-md5" is not supported/],
    [['transfer:', '  tsigKeys: [xfr-key:hmac-sha256:AQE=]'], /\(dns\.transfer\.tsigKeys\[0\]\): TSIG key "xfr-key": the secret is 2 bytes/],
    [['transfer:', '  tsigKeys: [xfr-key:hmac-sha256:@no-such.secret]'], /\(dns\.transfer\.tsigKeys\[0\]\): TSIG key "xfr-key": cannot read the secret file \/etc\/dnscdn\/no-such\.secret/],
    [['transfer:', '  secondaries: [127.0.0.2]'], /\(dns\.transfer\.secondaries\): unknown key "secondaries"/],
    [['recursion:', '  upstreamPort: 0'], /\(dns\.recursion\.upstreamPort\): 0 is below the minimum 1/],
    [['recursion:', '  staleWindow: soon'], /\(dns\.recursion\.staleWindow\): "soon" is not a duration/],
    [['recursion:', '  randomizeCase: yes please'], /\(dns\.recursion\.randomizeCase\): expected true or false/],
    [['rrl: { slip: 2 }'], /test\.yaml:2 \(dns\.rrl\.responsesPerSecond\): is required with dns\.rrl/],
    [['rrl: { responsesPerSecond: 0 }'], /\(dns\.rrl\.responsesPerSecond\): 0 is below the minimum 1/],
    [['rrl: { responsesPerSecond: 5, slip: 11 }'], /\(dns\.rrl\.slip\): 11 is above the maximum 10/],
    [['rrl:', '  responsesPerSecond: 5', '  exempt: [10.0.0.1/8]'], /test\.yaml:4 \(dns\.rrl\.exempt\[0\]\): bad CIDR/],
    [['rrl: { responsesPerSecond: 5, burst: 9 }'], /\(dns\.rrl\.burst\): unknown key "burst"/],
    [['rrl: { responsesPerSecond: 5, window: 1500ms }'], /\(dns\.rrl\.window\): must be a whole number of seconds from 1s to 3600s/],
    [['queryLogSample: 2'], /test\.yaml:2 \(dns\.queryLogSample\): 2 is above the maximum 1/],
    [['queryLogSample: -0.5'], /test\.yaml:2 \(dns\.queryLogSample\): -0\.5 is below the minimum 0/],
    [['queryLogSample: all'], /test\.yaml:2 \(dns\.queryLogSample\): expected a number/],
    [['workers: 0'], /test\.yaml:2 \(dns\.workers\): 0 is below the minimum 1/],
    [['workers: 2.5'], /test\.yaml:2 \(dns\.workers\): /],
    [['workerLiveness: { interval: 10ms }'], /test\.yaml:2 \(dns\.workerLiveness\.interval\): must be 0 \(off\) or from 50ms to 60s/],
    [['workerLiveness: { interval: often }'], /test\.yaml:2 \(dns\.workerLiveness\.interval\): "often" is not a duration/],
    [['workerLiveness:', '  misses: 1'], /test\.yaml:3 \(dns\.workerLiveness\.misses\): 1 is below the minimum 2/],
    [['workerLiveness: { timeout: 1s }'], /\(dns\.workerLiveness\.timeout\): unknown key "timeout"/],
    [['instances:', '  ns2: { admin: 127.0.0.2:9153 }'], /test\.yaml:3 \(dns\.instances\.ns2\.listen\): is required/],
    [['instances:', '  ns2: { listen: 127.0.0.2:5353, workers: 2 }'], /\(dns\.instances\.ns2\.workers\): unknown key "workers"/],
    [['listen: 127.0.0.1:5353', 'instances:', '  ns2: { listen: 127.0.0.1:5353 }'], /test\.yaml:4 \(dns\.instances\.ns2\.listen\): duplicate address 127\.0\.0\.1:5353: already used by dns/],
  ])('refuses %j with the file, line and key', (lines, message) => {
    expect(fileError(lines)).toMatch(message);
  });
});

describe('a flag next to --config replaces its key, and only that key', () => {
  it('without flags the file holds', () => {
    expect(withOverrides(fromFile(), dnsOverridesFromFlags(parseFlags([])))).toEqual(fromFile());
  });

  it.each<[string[], (o: DnsRoleOptions) => void]>([
    [['--listen', '127.0.0.1:0', '--listen', '[::1]:0'], (o) => (o.listen = [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }])],
    [['--zones', 'other/'], (o) => (o.zonesDir = 'other/')],
    [['--udp-size', '4096'], (o) => (o.udpPayloadSize = 4096)],
    [['--admin-listen', '127.0.0.1:0'], (o) => (o.metricsListen = { host: '127.0.0.1', port: 0 })],
    [['--metrics-listen', '127.0.0.1:0'], (o) => (o.metricsListen = { host: '127.0.0.1', port: 0 })], // the deprecated spelling
    [['--listen', '127.0.0.1:0,[::1]:0', '--listen', '127.0.0.2:0'], (o) => (o.listen = [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }, { host: '127.0.0.2', port: 0 }])],
    [['--allow-transfer', '127.0.0.2/32,127.0.0.3/32', '--allow-transfer', '::1'], (o) => (o.allowTransfer = ['127.0.0.2/32', '127.0.0.3/32', '::1'])],
    [['--allow-recursion', '127.0.0.0/8', '--allow-recursion', '::1'], (o) => (o.recursion.allow = ['127.0.0.0/8', '::1'])],
    [['--rrl-exempt', '198.51.100.0/24,::1'], (o) => (o.rrl!.exempt = ['198.51.100.0/24', '::1'])],
    [['--allow-transfer', '127.0.0.2/32', '--allow-transfer', '::1'], (o) => (o.allowTransfer = ['127.0.0.2/32', '::1'])],
    [['--notify', '127.0.0.6:5301'], (o) => (o.notify = [{ host: '127.0.0.6', port: 5301 }])],
    [['--tsig-key', 'other-key:hmac-sha256:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI='], (o) => (o.tsigKeys = [{ name: 'other-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 2) }])],
    [['--root-hints', 'other.hints'], (o) => (o.recursion.rootHints = 'other.hints')],
    [['--allow-recursion', '127.0.0.0/8,::1'], (o) => (o.recursion.allow = ['127.0.0.0/8', '::1'])],
    [['--forward', 'x.test=10.0.0.1,10.0.0.2:5300'], (o) => (o.recursion.forwarders = [{ zone: 'x.test', servers: [{ host: '10.0.0.1', port: 53 }, { host: '10.0.0.2', port: 5300 }] }])],
    [['--upstream-port', '53'], (o) => (o.recursion.upstreamPort = 53)],
    [['--stale-window', '600'], (o) => (o.recursion.staleWindow = 600)], // deprecated: a bare number, read as seconds
    [['--stale-window', '600s'], (o) => (o.recursion.staleWindow = 600)],
    [['--stale-window', '2h'], (o) => (o.recursion.staleWindow = 7200)],
    [['--randomize-case'], (o) => (o.recursion.randomizeCase = true)],
    [['--tcp-idle-timeout', '3s'], (o) => (o.tcp.idleTimeoutMs = 3000)],
    [['--tcp-frame-timeout', '500ms'], (o) => (o.tcp.frameTimeoutMs = 500)],
    [['--tcp-max-connections', '64'], (o) => (o.tcp.maxConnections = 64)],
    [['--tcp-max-per-network', '2'], (o) => (o.tcp.maxPerNetwork = 2)],
    [['--tcp-ipv4-prefix', '28'], (o) => (o.tcp.ipv4Prefix = 28)],
    [['--tcp-ipv6-prefix', '48'], (o) => (o.tcp.ipv6Prefix = 48)],
    [['--rrl-responses-per-second', '50'], (o) => (o.rrl!.responsesPerSecond = 50)],
    [['--rrl-slip', '0'], (o) => (o.rrl!.slip = 0)],
    [['--rrl-window', '30'], (o) => (o.rrl!.window = 30)], // deprecated: a bare number, read as seconds
    [['--rrl-window', '30s'], (o) => (o.rrl!.window = 30)],
    [['--rrl-window', '2m'], (o) => (o.rrl!.window = 120)],
    [['--rrl-ipv4-prefix', '22'], (o) => (o.rrl!.ipv4Prefix = 22)],
    [['--rrl-ipv6-prefix', '64'], (o) => (o.rrl!.ipv6Prefix = 64)],
    [['--rrl-exempt', '198.51.100.0/24', '--rrl-exempt', '::1'], (o) => (o.rrl!.exempt = ['198.51.100.0/24', '::1'])],
    [['--rrl-responses-per-second', '0'], (o) => (o.rrl = undefined)],
    [['--query-log-sample', '1'], (o) => (o.queryLogSample = 1)],
    [['--query-log-sample', '0'], (o) => (o.queryLogSample = 0)],
    [['--worker-liveness-interval', '500ms'], (o) => (o.workerLiveness.intervalMs = 500)],
    [['--worker-liveness-interval', '0'], (o) => (o.workerLiveness.intervalMs = 0)],
    [['--worker-liveness-misses', '6'], (o) => (o.workerLiveness.misses = 6)],
  ])('%j', (args, change) => {
    const expected = fromFile(); // parsed anew: a fresh object to change (structuredClone would turn key secrets into Uint8Arrays)
    change(expected);
    expect(withOverrides(fromFile(), dnsOverridesFromFlags(parseFlags(args)))).toEqual(expected);
  });

  it('without --config the flags go over the defaults', () => {
    const options = withOverrides(DNS_ROLE_DEFAULTS, dnsOverridesFromFlags(parseFlags(['--allow-transfer', '127.0.0.2/32'])));
    expect(options).toEqual({ ...DNS_ROLE_DEFAULTS, allowTransfer: ['127.0.0.2/32'] });
    expect(dnsServerOptions(options, createRegistry()).allowTransfer).toEqual(['127.0.0.2/32']);
  });

  it('--rrl-responses-per-second turns RRL on without a file, with the defaults for the rest', () => {
    const options = withOverrides(DNS_ROLE_DEFAULTS, dnsOverridesFromFlags(parseFlags(['--rrl-responses-per-second', '10'])));
    expect(options.rrl).toEqual({ responsesPerSecond: 10, slip: 2, window: 15, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [] });
  });

  it.each([
    [['--rrl-slip', '-1'], /--rrl-slip: "-1" is not a whole number from 0 to 10/],
    [['--rrl-exempt', '10.0.0.1/8'], /--rrl-exempt: .*bits set past \/8/],
    [['--udp-size', '100'], /--udp-size: "100" is not a whole number from 512 to 65535/],
    [['--allow-transfer', '10.0.0.1/8'], /--allow-transfer: .*bits set past \/8/],
    [['--stale-window', 'soon'], /--stale-window: "soon" is not a duration/],
    [['--query-log-sample', '1.5'], /--query-log-sample: "1.5" is not a number from 0 to 1/],
    [['--query-log-sample', '-1'], /--query-log-sample: "-1" is not a number from 0 to 1/],
    [['--query-log-sample', 'half'], /--query-log-sample: "half" is not a number from 0 to 1/],
    [['--worker-liveness-interval', '10ms'], /--worker-liveness-interval: "10ms" must be 0 \(off\) or from 50ms to 60s/],
    [['--worker-liveness-interval', 'often'], /--worker-liveness-interval: "often" is not a duration/],
    [['--worker-liveness-misses', '1'], /--worker-liveness-misses: "1" is not a whole number from 2 to 100/],
  ])('refuses %j with the flag and the reason', (args, message) => {
    expect(() => parseFlags(args)).toThrow(message);
  });
});
