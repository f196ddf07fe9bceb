/** Internal errors are logged at most once per interval per step, with the count held back in between. */
import { describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../src/log.js';
import { ErrorReport } from '../../src/dns/error-report.js';

function recordingLogger(): { logger: Logger; lines: LogFields[] } {
  const lines: LogFields[] = [];
  const keep = (_msg: string, fields?: LogFields): void => void lines.push(fields ?? {});
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines };
}

describe('ErrorReport', () => {
  it('logs the first error of a step, holds back the rest for the interval, then says how many it held back', () => {
    const { logger, lines } = recordingLogger();
    let now = 1_000;
    const report = new ErrorReport(logger, 10_000, () => now);
    for (let i = 0; i < 500; i++) report.report('encode', new RangeError('too big'), 'big.cdn.test');
    report.report('authority', new TypeError('hook'), 'x.cdn.test'); // another step has its own budget
    expect(lines.map((l) => [l.step, l.suppressed])).toEqual([['encode', 0], ['authority', 0]]);
    now += 9_999;
    report.report('encode', new RangeError('too big'), undefined);
    expect(lines).toHaveLength(2);
    now += 1;
    report.report('encode', new RangeError('too big'), undefined);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ step: 'encode', suppressed: 500 });
    expect(String(lines[2]!.error)).toMatch(/^RangeError: too big/);
  });
});
