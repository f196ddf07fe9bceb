import { describe, expect, it } from 'vitest';
import { classifyReply, type ClassifyContext } from '../../../src/dns/resolver/reply.js';
import type { Message } from '../../../src/dns/types.js';
import { a, cname, ns, reply, soa } from './responder.js';

const query: Message = {
  id: 1,
  opcode: 'QUERY',
  rcode: 0,
  flags: { qr: false, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false },
  questions: [{ name: 'www.example.test', type: 'A', class: 'IN' }],
  answers: [],
  authorities: [],
  additionals: [],
};
const at = (zone: string, forwarded = false): ClassifyContext => ({ question: query.questions[0]!, zone, forwarded });

describe('classifyReply', () => {
  it('takes an authoritative answer and drops records outside the bailiwick', () => {
    const r = reply(query, { answers: [a('www.example.test', '192.0.2.1'), a('victim.other.test', '6.6.6.6')] });
    expect(classifyReply(r, at('example.test'))).toEqual({ kind: 'answer', records: [a('www.example.test', '192.0.2.1')] });
  });

  it('follows an in-bailiwick CNAME chain and stops where it leaves the bailiwick', () => {
    const r = reply(query, {
      answers: [cname('www.example.test', 'web.example.test'), cname('web.example.test', 'host.other.test'), a('host.other.test', '6.6.6.6')],
    });
    expect(classifyReply(r, at('example.test'))).toEqual({
      kind: 'cname',
      records: [cname('www.example.test', 'web.example.test'), cname('web.example.test', 'host.other.test')],
      target: 'host.other.test',
    });
  });

  it('reads NXDOMAIN and NODATA with their SOA', () => {
    expect(classifyReply(reply(query, { rcode: 3, authorities: [soa('example.test')] }), at('example.test'))).toMatchObject({
      kind: 'nxdomain',
      name: 'www.example.test',
      soa: { name: 'example.test' },
    });
    expect(classifyReply(reply(query, { authorities: [soa('example.test')] }), at('example.test'))).toMatchObject({ kind: 'nodata' });
    // An SOA from another zone is not believed.
    expect(classifyReply(reply(query, { authorities: [soa('other.test')] }), at('example.test'))).toMatchObject({ kind: 'nodata', soa: undefined });
  });

  it('takes a downward referral with in-bailiwick glue only', () => {
    const r = reply(query, {
      aa: false,
      authorities: [ns('example.test', 'ns1.example.test'), ns('example.test', 'ns.elsewhere.org')],
      additionals: [a('ns1.example.test', '127.0.0.55'), a('ns.elsewhere.org', '6.6.6.6'), a('unrelated.test', '6.6.6.7')],
    });
    expect(classifyReply(r, at('test'))).toEqual({
      kind: 'referral',
      zone: 'example.test',
      nameServers: [ns('example.test', 'ns1.example.test'), ns('example.test', 'ns.elsewhere.org')],
      glue: [a('ns1.example.test', '127.0.0.55')],
    });
  });

  it.each([
    ['SERVFAIL', reply(query, { rcode: 2 }), 'rcode SERVFAIL'],
    ['REFUSED', reply(query, { rcode: 5 }), 'rcode REFUSED'],
    ['an answer without AA', reply(query, { aa: false, answers: [a('www.example.test', '192.0.2.1')] }), 'answer without AA'],
    ['a referral upward', reply(query, { aa: false, authorities: [ns('test', 'ns.test')] }), 'referral upward or sideways to "test"'],
    ['a referral to the same zone', reply(query, { aa: false, authorities: [ns('example.test', 'ns.test')] }), 'referral upward or sideways to "example.test"'],
    ['a referral sideways', reply(query, { aa: false, authorities: [ns('other.test', 'ns.other.test')] }), 'referral upward or sideways to "other.test"'],
    ['an empty non-authoritative reply', reply(query, { aa: false }), 'no AA and no referral'],
  ])('calls %s lame', (_label, r, reason) => {
    expect(classifyReply(r, at('example.test'))).toEqual({ kind: 'lame', reason });
  });

  it('accepts answers without AA from a forwarder', () => {
    const r = reply(query, { aa: false, answers: [a('www.example.test', '192.0.2.1')] });
    expect(classifyReply(r, at('', true))).toMatchObject({ kind: 'answer' });
  });
});
