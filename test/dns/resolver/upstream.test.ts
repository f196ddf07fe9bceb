import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamClient, type DiscardReason, type Transport } from '../../../src/dns/resolver/upstream.js';
import { encodeMessage } from '../../../src/dns/wire.js';
import type { Message, Question } from '../../../src/dns/types.js';
import { a, reply, startResponder, type Responder, type Script } from './responder.js';

const question: Question = { name: 'host.example.test', type: 'A', class: 'IN' };
let responders: Responder[] = [];
afterEach(async () => {
  await Promise.all(responders.map((r) => r.close()));
  responders = [];
});

async function responder(script: Script): Promise<Responder> {
  const r = await startResponder(script);
  responders.push(r);
  return r;
}

function client(opts: { randomizeCase?: boolean; udpPayloadSize?: number } = {}) {
  const sent: Transport[] = [];
  const discarded: DiscardReason[] = [];
  const c = new UpstreamClient({
    udpPayloadSize: opts.udpPayloadSize ?? 1232,
    randomizeCase: opts.randomizeCase ?? false,
    onSend: (t) => sent.push(t),
    onDiscard: (r) => discarded.push(r),
  });
  return { c, sent, discarded };
}

const good = (q: Message): Message => reply(q, { answers: [a(q.questions[0]!.name, '192.0.2.1')] });

/** A valid reply to `q` whose answer owner name is a compression pointer to `target` (RFC 1035 §4.1.4). */
function withAnswerPointer(q: Message, target: (answerStart: number) => number): Buffer {
  const buf = encodeMessage(good(q));
  // dns-packet writes names uncompressed: the answer name repeats the question name right after the question.
  const nameLength = buf.indexOf(0, 12) - 12 + 1;
  const answerStart = 12 + nameLength + 4;
  const pointer = Buffer.alloc(2);
  pointer.writeUInt16BE(0xc000 | target(answerStart));
  return Buffer.concat([buf.subarray(0, answerStart), pointer, buf.subarray(answerStart + nameLength)]);
}

describe('upstream client', () => {
  it('sends EDNS(0) with our size, a random ID and a fresh source port per query', async () => {
    const r = await responder((q) => good(q));
    const { c } = client();
    for (let i = 0; i < 12; i++) {
      const out = await c.query({ server: r, question, recursionDesired: false, timeoutMs: 1000 });
      expect(out.kind).toBe('reply');
    }
    const ids = new Set(r.queries.map((q) => q.message.id));
    const ports = new Set(r.queries.map((q) => q.from.port));
    expect(ids.size).toBeGreaterThan(6);
    expect(ports.size).toBeGreaterThan(6);
    expect(r.queries[0]!.message.edns?.udpPayloadSize).toBe(1232);
    expect(r.queries[0]!.message.flags.rd).toBe(false);
  });

  it('ignores forged replies (wrong ID, wrong question, not a response) and takes the real one', async () => {
    const r = await responder((q) => [
      { ...good(q), id: (q.id + 1) & 0xffff },
      { ...good(q), questions: [{ name: 'other.test', type: 'A', class: 'IN' }] },
      { ...good(q), questions: [{ ...q.questions[0]!, type: 'AAAA' }] },
      { ...good(q), flags: { ...good(q).flags, qr: false } },
      reply(q, { answers: [a(q.questions[0]!.name, '198.51.100.7')] }),
    ]);
    const { c, discarded } = client();
    const out = await c.query({ server: r, question, recursionDesired: false, timeoutMs: 1000 });
    expect(out.kind).toBe('reply');
    if (out.kind !== 'reply') return;
    expect(out.message.answers).toMatchObject([{ data: '198.51.100.7' }]);
    expect(discarded).toEqual(['wrong-id', 'wrong-question', 'wrong-question', 'not-response']);
  });

  it('times out when only forged replies arrive', async () => {
    const r = await responder((q) => ({ ...good(q), id: (q.id + 1) & 0xffff }));
    const { c, discarded } = client();
    const out = await c.query({ server: r, question, recursionDesired: false, timeoutMs: 150 });
    expect(out).toEqual({ kind: 'timeout' });
    expect(discarded).toEqual(['wrong-id']);
  });

  it('discards malformed replies (compression loop, pointer past the end, counts past the data, oversized) and keeps waiting', async () => {
    const r = await responder((q) => {
      const truncatedCounts = encodeMessage(good(q));
      truncatedCounts.writeUInt16BE(5, 6); // ANCOUNT 5, one record present
      return [
        withAnswerPointer(q, () => 0x3fff), // past the end
        withAnswerPointer(q, (at) => at), // points at itself: a loop
        truncatedCounts,
        Buffer.concat([encodeMessage(good(q)), Buffer.alloc(600)]), // larger than the 512 we announced
        Buffer.from([1, 2, 3]),
        good(q),
      ];
    });
    const { c, discarded } = client({ udpPayloadSize: 512 });
    const out = await c.query({ server: r, question, recursionDesired: false, timeoutMs: 1000 });
    expect(out.kind).toBe('reply');
    expect(discarded).toEqual(['malformed', 'malformed', 'malformed', 'oversized', 'malformed']);
  });

  it('retries over TCP when the UDP reply is truncated', async () => {
    const r = await responder((q, transport) =>
      transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: [a(q.questions[0]!.name, '192.0.2.9')] }),
    );
    const { c, sent } = client();
    const out = await c.query({ server: r, question, recursionDesired: false, timeoutMs: 1000 });
    expect(out.kind === 'reply' && out.transport).toBe('tcp');
    expect(out.kind === 'reply' && out.message.answers[0]).toMatchObject({ data: '192.0.2.9' });
    expect(sent).toEqual(['udp', 'tcp']);
  });

  it('treats a TCP reply with the wrong ID as malformed', async () => {
    const r = await responder((q, transport) => (transport === 'udp' ? reply(q, { tc: true }) : { ...good(q), id: (q.id + 7) & 0xffff }));
    const { c } = client();
    const out = await c.query({ server: r, question, recursionDesired: false, timeoutMs: 1000 });
    expect(out).toEqual({ kind: 'malformed', reason: 'wrong-id' });
  });

  it('reports an unreachable server quickly instead of waiting for the timeout', async () => {
    const r = await responder(() => undefined);
    const port = r.port;
    await r.close();
    responders = [];
    const { c } = client();
    const out = await c.query({ server: { host: '127.0.0.1', port }, question, recursionDesired: false, timeoutMs: 5000 });
    expect(out.kind).toBe('unreachable');
  });

  it('with 0x20 randomisation, requires the exact spelling back', async () => {
    const echo = await responder((q) => good(q));
    const lower = await responder((q) => {
      const lowered = { ...q.questions[0]!, name: q.questions[0]!.name.toLowerCase() };
      return { ...good(q), questions: [lowered] };
    });
    const { c, discarded } = client({ randomizeCase: true });
    const long: Question = { name: 'abcdefghijklmnopqrstuvwxyz.example.test', type: 'A', class: 'IN' };
    expect((await c.query({ server: echo, question: long, recursionDesired: false, timeoutMs: 1000 })).kind).toBe('reply');
    expect(echo.queries[0]!.message.questions[0]!.name).not.toBe(long.name); // 2^-35 chance of equality
    expect(await c.query({ server: lower, question: long, recursionDesired: false, timeoutMs: 150 })).toEqual({ kind: 'timeout' });
    expect(discarded).toEqual(['wrong-question']);
  });
});
