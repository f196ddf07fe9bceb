import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/config/load.js';
import { edgeRoleFromDeployment } from '../../src/edge/setup.js';
import { originRoleFromDeployment } from '../../src/origin/setup.js';

const BASE = `dns:
  listen: [127.0.0.1:15353]
  zones: zones/
edges:
  a: { addresses: [127.0.0.11], port: 18081, location: { lat: 0, lon: 0 } }
origin:
  listen: 127.0.0.1:18000
  content: site/
distribution:
  backend: nats
  nats:
    servers: [127.0.0.1:4222, 127.0.0.2:4222, 127.0.0.3:4222]
REST
admin:
  tokens: [t0ken-for-tests]
`;

function load(rest: string): ReturnType<typeof parseDeployment> {
  return parseDeployment(BASE.replace('REST\n', rest), '/srv/cdn/dnscdn.yaml');
}

function errorOf(rest: string): string {
  try {
    load(rest);
  } catch (err) {
    return String(err);
  }
  return 'no error';
}

describe('distribution.backend: nats in the deployment file', () => {
  it('defaults: stream DNSCDN, 3 replicas; the origin publishes to it and every edge consumes from it', () => {
    const d = load('');
    expect(d.distribution).toMatchObject({ backend: 'nats', nats: { servers: ['127.0.0.1:4222', '127.0.0.2:4222', '127.0.0.3:4222'], stream: 'DNSCDN', replicas: 3, retainOps: 100_000, leaseMs: 15_000, bodyGcIntervalMs: 3_600_000, bodyGcGraceMs: 600_000 } });
    expect(originRoleFromDeployment(d).nats).toEqual(d.distribution!.nats);
    const push = edgeRoleFromDeployment(d, 'a').push!;
    expect(push.nats).toEqual({ config: d.distribution!.nats, edge: 'a' });
    expect(push.distributor).toBeUndefined();
  });

  it('credentials and TLS files resolve against the file', () => {
    const d = load('    user: cdn\n    password: pw\n    credsFile: nats/cdn.creds\n    tls: { ca: nats/ca.pem, cert: nats/c.pem, key: nats/c.key }\n');
    expect(d.distribution!.nats).toMatchObject({ user: 'cdn', password: 'pw', credsFile: '/srv/cdn/nats/cdn.creds', tls: { ca: '/srv/cdn/nats/ca.pem', cert: '/srv/cdn/nats/c.pem', key: '/srv/cdn/nats/c.key' } });
  });

  it('refuses one replica unless allowUnsafeSingleReplica, naming file, line and key', () => {
    expect(errorOf('    replicas: 1\n')).toMatch(/\/srv\/cdn\/dnscdn\.yaml:13.*distribution\.nats\.replicas.*acknowledged purge.*allowUnsafeSingleReplica/);
    expect(load('    replicas: 1\n    allowUnsafeSingleReplica: true\n').distribution!.nats).toMatchObject({ replicas: 1, allowUnsafeSingleReplica: true });
  });

  it('refuses bad values with file, line and key', () => {
    expect(errorOf('    replicas: 2\n')).toMatch(/dnscdn\.yaml:13.*distribution\.nats\.replicas.*1, 3 or 5/);
    expect(errorOf('    stream: "a.b"\n')).toMatch(/dnscdn\.yaml:13.*distribution\.nats\.stream/);
    expect(errorOf('    user: cdn\n')).toMatch(/distribution\.nats\.user.*go together/);
    expect(errorOf('    servers2: []\n')).toMatch(/unknown key "servers2"/);
    expect(() => parseDeployment(BASE.replace('backend: nats', 'backend: kafka').replace('REST\n', ''), '/x.yaml')).toThrow(/x\.yaml:\d+.*distribution\.backend.*journal, nats/);
    expect(() => parseDeployment(BASE.replace(/  nats:\n.*\nREST\n/, ''), '/x.yaml')).toThrow(/distribution\.backend.*needs a distribution\.nats/);
    expect(() => parseDeployment(BASE.replace('backend: nats', 'backend: journal').replace('REST\n', ''), '/x.yaml')).toThrow(/distribution\.nats.*only used with backend: nats/);
  });

  it('publisher lease and body garbage collection: durations with units, checked with file, line and key', () => {
    expect(load('    publisherLease: 5s\n    bodyGcInterval: 0\n    bodyGcGrace: 30m\n').distribution!.nats).toMatchObject({ leaseMs: 5000, bodyGcIntervalMs: 0, bodyGcGraceMs: 1_800_000 });
    expect(errorOf('    publisherLease: 500ms\n')).toMatch(/dnscdn\.yaml:13.*distribution\.nats\.publisherLease.*at least 1s/);
    expect(errorOf('    publisherLease: soon\n')).toMatch(/dnscdn\.yaml:13.*distribution\.nats\.publisherLease.*not a duration/);
    expect(errorOf('    bodyGcGrace: 30s\n')).toMatch(/dnscdn\.yaml:13.*distribution\.nats\.bodyGcGrace.*at least 2m/);
  });
});
