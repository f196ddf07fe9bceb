/**
 * `tls` in edgeDefaults and per edge: keys merge one by one (an edge may change only its port), paths resolve
 * against the file's folder, and mistakes name the file, the line and the key.
 */
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { edgeRoleFromDeployment } from '../../src/edge/setup.js';

function deployment(defaults: string, londonExtra = ''): string {
  return `dns:
  listen: 127.0.0.1:5353
edgeDefaults:
  port: 8080
${defaults}
edges:
  london:
    addresses: [127.0.0.11]
    location: { lat: 51.5, lon: -0.12 }
${londonExtra}
  tokyo:
    addresses: [127.0.0.12]
    location: { lat: 35.68, lon: 139.69 }
pools:
  www.cdn.test: { edges: [london, tokyo] }
origin:
  listen: 127.0.0.1:8000
`;
}

const FILE = '/etc/dnscdn/site.yaml';

describe('edge tls settings', () => {
  it('an edge with several addresses gets an HTTPS listener on each, at tls.port', () => {
    const d = parseDeployment(deployment(`  tls: { port: 8443, demoCa: var/demo-ca }`).replace('addresses: [127.0.0.11]', 'addresses: [127.0.0.11, "::1"]'), FILE, { env: {} });
    expect(edgeRoleFromDeployment(d, 'london').server.tls?.listen).toEqual([
      { host: '127.0.0.11', port: 8443 },
      { host: '::1', port: 8443 },
    ]);
  });

  it('reads certificates, defaults and limits, and lets an edge override single keys', () => {
    const d = parseDeployment(
      deployment(
        `  tls:
    port: 8443
    certificates: [{ cert: certs/www.pem, key: certs/www.key, names: [www.cdn.test, "*.cdn.test"] }]
    default: { cert: /srv/default.pem, key: /srv/default.key }
    redirectHttp: true
    hsts: 8760h
    handshakeTimeout: 5s
    idleTimeout: 30s
    ticketKeyRotation: 1h
    http2: { maxConcurrentStreams: 128, maxHeaderListBytes: 32KiB, maxResets: 200, resetWindow: 10s }`,
        `    tls: { port: 9443 }`,
      ),
      FILE,
      { env: {} },
    );
    const [london, tokyo] = d.edges;
    expect(tokyo!.tls).toMatchObject({
      port: 8443,
      certificates: [{ cert: '/etc/dnscdn/certs/www.pem', key: '/etc/dnscdn/certs/www.key', names: ['www.cdn.test', '*.cdn.test'] }],
      default: { cert: '/srv/default.pem', key: '/srv/default.key' },
      redirectHttp: true,
      hstsMaxAgeSec: 31_536_000,
      handshakeTimeoutMs: 5000,
      idleTimeoutMs: 30_000,
      ticketKeyRotationMs: 3_600_000,
      http2: { maxConcurrentStreams: 128, maxHeaderListBytes: 32 * 1024, maxResets: 200, resetWindowMs: 10_000 },
    });
    expect(london!.tls).toMatchObject({ port: 9443, redirectHttp: true, certificates: tokyo!.tls!.certificates });
    const role = edgeRoleFromDeployment(d, 'london', 'a-token-of-length');
    expect(role.server.tls?.listen).toEqual([{ host: '127.0.0.11', port: 9443 }]);
    expect(role.server.tls?.idleTimeoutMs).toBe(30_000);
  });

  it('reads acme and demoCa; the role serves challenges from the acme challenge folder', () => {
    const d = parseDeployment(deployment(`  tls: { demoCa: var/demo-ca, acme: { directory: "https://acme.example/dir", names: [www.cdn.test], email: ops@cdn.test } }`), FILE, { env: {} });
    expect(d.edges[0]!.tls).toMatchObject({
      port: 8443,
      demoCa: '/etc/dnscdn/var/demo-ca',
      acme: { directory: 'https://acme.example/dir', names: ['www.cdn.test'], dir: '/etc/dnscdn/var/acme', challengeDir: '/etc/dnscdn/var/acme-challenges', email: 'ops@cdn.test' },
    });
    const role = edgeRoleFromDeployment(d, 'tokyo', 'a-token-of-length');
    expect(role.server.acmeChallengeDir).toBe('/etc/dnscdn/var/acme-challenges');
    expect(role.demoCa).toEqual({ dir: '/etc/dnscdn/var/demo-ca', names: ['www.cdn.test', '*.cdn.test', '127.0.0.11', '127.0.0.12'] });
  });

  it.each([
    [`  tls: { port: 8443 }`, /site\.yaml:5 \(edgeDefaults\.tls\): needs "certificates", "default", "demoCa" or "acme"/],
    [`  tls: { demoCa: x, hsts: forever }`, /\(edgeDefaults\.tls\.hsts\): "forever" is not a duration/],
    [`  tls: { demoCa: x, certificates: [{ cert: a.pem }] }`, /\(edgeDefaults\.tls\.certificates\[0\]\.key\): is required/],
    [`  tls: { demoCa: x, acme: { directory: "ftp://x", names: [a.test] } }`, /\(edgeDefaults\.tls\.acme\.directory\): must be an http\(s\):\/\/ URL/],
    [`  tls: { demoCa: x, http2: { maxConcurrentStreams: 0 } }`, /\(edgeDefaults\.tls\.http2\.maxConcurrentStreams\): 0 is below the minimum 1/],
    [`  tls: { demoCa: x, sni: true }`, /unknown key "sni"/],
  ])('refuses %s', (tls, message) => {
    expect(() => parseDeployment(deployment(tls), FILE, { env: {} })).toThrow(message);
  });

  it('refuses an HTTPS port that another listener already takes', () => {
    expect(() => parseDeployment(deployment(`  tls: { demoCa: x, port: 8080 }`), FILE, { env: {} })).toThrow(/duplicate address 127\.0\.0\.11:8080/);
  });
});
