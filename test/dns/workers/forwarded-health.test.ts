/**
 * A worker's view of edge health (src/dns/workers/forwarded-health.ts) driving real steering: what the
 * primary forwards decides the answer, and each change reaches steering once.
 */
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../../src/config/load.js';
import { Steering } from '../../../src/dns/steering.js';
import { ForwardedHealth } from '../../../src/dns/workers/forwarded-health.js';
import type { EdgeHealthEntry } from '../../../src/dns/workers/messages.js';

const deployment = parseDeployment(
  `dns: { zones: zones/ }
edges:
  a: { addresses: [127.0.0.11], location: { lat: 0, lon: 0 } }
  b: { addresses: [127.0.0.12], location: { lat: 0, lon: 0 } }
pools:
  www.cdn.test: { policy: failover, edges: [a, b], ttl: 20, answers: 1 }
geo: { databases: none }
`,
  '/x/dnscdn.yaml',
  { env: {} },
);

const entry = (edge: string, status: 'up' | 'down'): EdgeHealthEntry => ({ edge, status, lastReason: status === 'up' ? 'status 200' : 'connect ECONNREFUSED' });
const first = (steering: Steering): string | undefined => steering.steer('www.cdn.test', { address: '127.0.0.1' })?.edges[0]?.name;

describe('ForwardedHealth', () => {
  it('steers by the primary\'s health and tells steering of each change once', () => {
    const health = new ForwardedHealth();
    const changes: string[] = [];
    health.onChange((c) => changes.push(c.edge));
    const steering = new Steering(deployment, { health });
    expect(first(steering)).toBe('a'); // before any message: every edge up, as HealthChecker starts
    health.apply([entry('a', 'down'), entry('b', 'up')]);
    expect(first(steering)).toBe('b');
    health.apply([entry('a', 'down'), entry('b', 'up')]); // the same list again: no change
    health.apply([entry('a', 'up'), entry('b', 'up')]);
    expect(first(steering)).toBe('a');
    expect(changes).toEqual(['a', 'a']);
    expect(health.status()).toEqual([entry('a', 'up'), entry('b', 'up')]);
  });

  it('counts an edge the primary no longer lists as up (the deployment dropped it)', () => {
    const health = new ForwardedHealth();
    health.apply([entry('a', 'down')]);
    expect(health.isUp('a')).toBe(false);
    health.apply([]);
    expect(health.isUp('a')).toBe(true);
  });
});
