import { describe, expect, it } from 'vitest';
import { jsonLine } from '../src/log.js';

describe('json log records', () => {
  it('one parseable line: fixed keys first and not replaceable by a field; bigint as text; undefined left out', () => {
    const line = jsonLine('2026-01-01T00:00:00.000Z', 'warn', 'edge', 'catch-up failed', { msg: 'forged', level: 'debug', seq: 12n, peer: 'a\n"b', gone: undefined, ok: true });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n'); // a hostile value cannot start a second record
    expect(JSON.parse(line)).toEqual({ time: '2026-01-01T00:00:00.000Z', level: 'warn', component: 'edge', msg: 'catch-up failed', seq: '12', peer: 'a\n"b', ok: true });
  });
});
