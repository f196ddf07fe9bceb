import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextOperation, type ChaosOperation } from '../../src/chaos/operations.js';
import { chaosStreams } from '../../src/chaos/run.js';
import { purgeTargetFromPattern } from '../../src/distribution/operations.js';
import { seededRandom } from '../../src/random.js';
import { ROOT } from '../e2e/up-deployment.js';

describe('chaos operations', () => {
  it('push paths of the shipped content and purge targets in the admin API forms (a bad one is a 400, counted as failed)', () => {
    const random = seededRandom(5);
    const ops: ChaosOperation[] = Array.from({ length: 200 }, () => nextOperation(random));
    const purges = new Set(ops.flatMap((o) => (o.kind === 'purge' ? [o.body.target] : [])));
    const pushes = new Set(ops.flatMap((o) => (o.kind === 'push' ? o.body.paths : [])));
    expect(purges.size).toBe(2);
    expect(pushes.size).toBe(3);
    for (const target of purges) expect(() => purgeTargetFromPattern(target, false), target).not.toThrow();
    for (const path of pushes) expect(existsSync(join(ROOT, 'content', path)), path).toBe(true);
  });
});

describe('chaos seed streams', () => {
  it('give the faults the same draws however many the clients took', () => {
    const quiet = chaosStreams(9);
    const busy = chaosStreams(9);
    for (let i = 0; i < 1000; i++) busy.clients();
    busy.operations();
    const draws = (r: () => number): number[] => Array.from({ length: 5 }, r);
    expect(draws(busy.faults)).toEqual(draws(quiet.faults));
    expect(draws(chaosStreams(10).faults)).not.toEqual(draws(chaosStreams(9).faults));
  });
});
