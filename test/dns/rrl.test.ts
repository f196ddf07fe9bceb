/**
 * The response-rate limiter (src/dns/rrl.ts) with an injected clock: rate, window, slip ratio, exempt
 * networks, per-answer keys, and a table that stays bounded under a flood of distinct networks.
 */
import { describe, expect, it } from 'vitest';
import { ResponseRateLimiter, slipReply, type RrlSettings } from '../../src/dns/rrl.js';
import { RCODE, type Message } from '../../src/dns/types.js';
import { decodeMessage, encodeMessage } from '../../src/dns/wire.js';

const BASE: RrlSettings = { responsesPerSecond: 5, slip: 2, window: 3, ipv4Prefix: 24, ipv6Prefix: 56, exempt: [] };

/** A reply as the pipeline sends it: the question echoed, `answers` A records, the given rcode. */
function reply(name: string, options: { type?: 'A' | 'AAAA'; rcode?: number; answers?: number } = {}): Buffer {
  const type = options.type ?? 'A';
  const m: Message = {
    id: 7,
    opcode: 'QUERY',
    rcode: options.rcode ?? RCODE.NOERROR,
    flags: { qr: true, aa: true, tc: false, rd: false, ra: false, ad: false, cd: false },
    questions: [{ name, type, class: 'IN' }],
    answers: Array.from({ length: options.answers ?? 1 }, (_, i) => (type === 'A' ? { name, type: 'A' as const, class: 'IN' as const, ttl: 30, data: `192.0.2.${i + 1}` } : { name, type: 'AAAA' as const, class: 'IN' as const, ttl: 30, data: `2001:db8::${i + 1}` })),
    authorities: [],
    additionals: [],
  };
  return encodeMessage(m);
}

/** A limiter on a clock the test moves (milliseconds). */
function limiter(settings: Partial<RrlSettings> = {}): { rrl: ResponseRateLimiter; clock: { ms: number } } {
  const clock = { ms: 1_000_000 };
  return { rrl: new ResponseRateLimiter({ ...BASE, ...settings }, () => clock.ms), clock };
}

function verdicts(rrl: ResponseRateLimiter, bytes: Buffer, address: string, n: number): string[] {
  return Array.from({ length: n }, () => rrl.verdict(bytes, address));
}

describe('response-rate limiting', () => {
  it('sends responsesPerSecond replies per second, then limits; credit comes back with time', () => {
    const { rrl, clock } = limiter({ slip: 0 });
    const www = reply('www.cdn.test');
    expect(verdicts(rrl, www, '192.0.2.1', 5)).toEqual(Array(5).fill('send'));
    expect(rrl.verdict(www, '192.0.2.1')).toBe('drop');
    clock.ms += 1000; // one second: five more (the one over was paid for by going into debt)
    expect(verdicts(rrl, www, '192.0.2.1', 4)).toEqual(Array(4).fill('send'));
    expect(rrl.verdict(www, '192.0.2.1')).toBe('drop');
    expect(rrl.counters).toEqual({ limited: 2, slipped: 0, dropped: 2 });
  });

  it('keeps a flooding network limited for up to `window` seconds after the flood, and no longer', () => {
    const { rrl, clock } = limiter({ slip: 0, window: 3 });
    const www = reply('www.cdn.test');
    verdicts(rrl, www, '192.0.2.1', 1000); // debt capped at rate x window = 15
    clock.ms += 2000; // 10 credits: still in debt
    expect(rrl.verdict(www, '192.0.2.1')).toBe('drop');
    clock.ms += 2000; // 4 s after the flood: the debt (15 + 1) is paid back
    expect(rrl.verdict(www, '192.0.2.1')).toBe('send');
  });

  it('slips every Nth limited reply: slip 2 = half, slip 1 = all, slip 0 = none', () => {
    for (const [slip, slipped] of [[2, 50], [1, 100], [0, 0], [3, 33]] as const) {
      const { rrl } = limiter({ slip });
      const out = verdicts(rrl, reply('www.cdn.test'), '192.0.2.1', 105);
      expect(out.filter((v) => v === 'slip')).toHaveLength(slipped);
      expect(out.filter((v) => v === 'drop')).toHaveLength(100 - slipped);
      expect(rrl.counters.limited).toBe(100);
    }
  });

  it('counts per client network: the same /24 shares credit, another /24 and another /56 do not', () => {
    const { rrl } = limiter({ slip: 0 });
    const www = reply('www.cdn.test');
    verdicts(rrl, www, '192.0.2.1', 5);
    expect(rrl.verdict(www, '192.0.2.200')).toBe('drop'); // same /24
    expect(rrl.verdict(www, '192.0.3.1')).toBe('send');
    verdicts(rrl, www, '2001:db8:0:100::1', 5);
    expect(rrl.verdict(www, '2001:db8:0:1ff::2')).toBe('drop'); // same /56
    expect(rrl.verdict(www, '2001:db8:0:200::1')).toBe('send');
    expect(rrl.verdict(www, '::ffff:192.0.2.9')).toBe('drop'); // the mapped IPv4 client is the same /24
  });

  it('keys on the answer: qname (any case) and qtype for answers; one bucket for NXDOMAIN and one for errors', () => {
    const { rrl } = limiter({ slip: 0 });
    verdicts(rrl, reply('www.cdn.test'), '192.0.2.1', 5);
    expect(rrl.verdict(reply('WWW.Cdn.TEST'), '192.0.2.1')).toBe('drop');
    expect(rrl.verdict(reply('www.cdn.test', { type: 'AAAA' }), '192.0.2.1')).toBe('send');
    expect(rrl.verdict(reply('img.cdn.test'), '192.0.2.1')).toBe('send');
    // Random names answered NXDOMAIN share one bucket: a random-subdomain flood cannot dodge the limit.
    verdicts(rrl, reply('a1.cdn.test', { rcode: RCODE.NXDOMAIN, answers: 0 }), '192.0.2.1', 5);
    expect(rrl.verdict(reply('b2.cdn.test', { rcode: RCODE.NXDOMAIN, answers: 0 }), '192.0.2.1')).toBe('drop');
    verdicts(rrl, reply('x.example', { rcode: RCODE.REFUSED, answers: 0 }), '192.0.2.1', 5);
    expect(rrl.verdict(reply('y.example', { rcode: RCODE.SERVFAIL, answers: 0 }), '192.0.2.1')).toBe('drop');
    // NODATA is its own class from the positive answer of the same name and type.
    expect(rrl.verdict(reply('www.cdn.test', { answers: 0 }), '192.0.2.1')).toBe('send');
  });

  it('never limits exempt networks', () => {
    const { rrl } = limiter({ slip: 0, exempt: ['192.0.2.0/24', '2001:db8::/32'] });
    expect(verdicts(rrl, reply('www.cdn.test'), '192.0.2.1', 50)).toEqual(Array(50).fill('send'));
    expect(verdicts(rrl, reply('www.cdn.test'), '2001:db8::1', 50)).toEqual(Array(50).fill('send'));
    expect(rrl.verdict(reply('www.cdn.test'), '198.51.100.1')).toBe('send');
    expect(rrl.counters.limited).toBe(0);
  });

  it('keeps the table bounded under a flood of distinct networks, and a flood does not free a limited key', () => {
    const { rrl, clock } = limiter({ slip: 0, tableSize: 1024 });
    const www = reply('www.cdn.test');
    verdicts(rrl, www, '198.51.100.1', 6);
    for (let i = 0; i < 200_000; i++) {
      rrl.verdict(www, `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`); // a different /24 every 256
      rrl.verdict(www, `2001:db8:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}00::1`); // a different /56 each
    }
    expect(rrl.capacity).toBe(1024);
    expect(rrl.tracked).toBeLessThanOrEqual(1024);
    clock.ms += 1; // no time for credit: a fresh network still gets its full second
    expect(rrl.verdict(www, '203.0.113.1')).toBe('send');
  });

  it('slips as the question alone, TC=1, no records, the ID kept; the cached reply is not touched', () => {
    const full = reply('www.cdn.test', { answers: 3 });
    const copy = Buffer.from(full);
    const slipped = slipReply(full)!;
    expect(full.equals(copy)).toBe(true);
    const d = decodeMessage(slipped);
    expect(d.kind).toBe('message');
    if (d.kind !== 'message') return;
    expect(d.message).toMatchObject({ id: 7, rcode: RCODE.NOERROR, flags: { qr: true, tc: true, aa: true }, questions: [{ name: 'www.cdn.test', type: 'A' }], answers: [], authorities: [], additionals: [] });
    expect(slipped.length).toBe(12 + 14 + 4);
  });

  it('apply() returns the reply, a slip or nothing', () => {
    const { rrl } = limiter({ responsesPerSecond: 1, slip: 2 });
    const www = reply('www.cdn.test');
    expect(rrl.apply(www, '192.0.2.1')).toBe(www);
    expect(rrl.apply(www, '192.0.2.1')).toBeUndefined();
    expect(rrl.apply(www, '192.0.2.1')![2]! & 0x02).toBe(0x02);
    expect(rrl.apply(undefined, '192.0.2.1')).toBeUndefined();
  });
});
