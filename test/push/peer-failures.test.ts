/**
 * Warnings about unreachable peers: at warn level, naming the URL and the cause, at most once per backoff
 * period per peer (an injected clock for the rule; a real follower retrying every 20 ms for the wiring).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Follower, type FollowerSink } from '../../src/distribution/follower.js';
import { PeerFailureLog } from '../../src/distribution/peer-failures.js';
import type { Logger, LogFields } from '../../src/log.js';
import { tempDir } from '../origin/helpers.js';
import { refusingUrl } from '../net/loopback.js';

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: LogFields | undefined;
}

function recordingLogger(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (msg: string, fields?: LogFields): void =>
      void lines.push({ level, msg, fields });
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const nullSink: FollowerSink = { put: () => undefined, purge: () => undefined, clear: () => undefined, accepts: () => true };

describe('PeerFailureLog', () => {
  it('warns on the first failure, then at most once per period, the period doubling to the max, per peer', () => {
    let now = 0;
    const { log, lines } = recordingLogger();
    const failures = new PeerFailureLog(log, 'catch-up', { minMs: 1000, maxMs: 4000, now: () => now });
    // One failure every 100 ms for 20 s: warnings at 0, 1 s, 3 s (+2 s), 7 s (+4 s), then every 4 s.
    const warnedAt: number[] = [];
    const warnings = (): Line[] => lines.filter((l) => l.level === 'warn');
    for (now = 0; now < 20_000; now += 100) {
      const before = warnings().length;
      failures.failed('http://a', 'ECONNREFUSED');
      if (warnings().length > before) warnedAt.push(now);
    }
    expect(warnedAt).toEqual([0, 1000, 3000, 7000, 11_000, 15_000, 19_000]);
    expect(lines.every((l) => l.fields?.peer === 'http://a' && l.fields.error === 'ECONNREFUSED')).toBe(true);
    expect(warnings()[1]!.fields).toMatchObject({ failures: 11, suppressed: 9 });
    // The routine retries between warnings are at debug, one line each.
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(200 - warnedAt.length);

    // Another peer has its own period; a success resets the first and is logged once.
    failures.failed('http://b', 'timeout');
    expect(lines.at(-1)!.fields?.peer).toBe('http://b');
    failures.succeeded('http://a');
    failures.succeeded('http://a');
    expect(lines.filter((l) => l.level === 'info')).toHaveLength(1);
    failures.failed('http://a', 'ECONNREFUSED');
    expect(lines.at(-1)).toMatchObject({ level: 'warn', fields: { peer: 'http://a', failures: 1 } });
  });
});

describe('catch-up from an unreachable upstream', () => {
  it('is logged at warn with the URL and the cause, once for many retries', async () => {
    const upstream = refusingUrl();
    const { log, lines } = recordingLogger();
    let skew = 0;
    const now = (): number => Date.now() + skew;
    const follower = await Follower.open({ dir: join(await tempDir('peer-failures'), 'replica'), upstream, token: 'peer-failures-token', sink: nullSink, pollMs: 20, log, now });
    follower.start();
    // About 25 retries in 500 ms; the quiet period after the first warning is 5 s.
    await new Promise((r) => setTimeout(r, 500));
    const warnings = (): Line[] => lines.filter((l) => l.level === 'warn');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toBe('catch-up failed, will retry');
    expect(warnings()[0]!.fields?.error).toMatch(new RegExp(`^GET ${upstream}/\\.dnscdn/journal\\?since=0: connect ECONNREFUSED`));
    // Once the period has passed, the next failure is reported with the count of those it stood for.
    skew = 5000;
    await new Promise((r) => setTimeout(r, 200));
    await follower.close();
    expect(warnings()).toHaveLength(2);
    expect(Number(warnings()[1]!.fields?.failures)).toBeGreaterThan(5);
  });
});
