/**
 * The policy entry of the query chain (chain.ts): what the server refuses to answer before any zone
 * is consulted. Returns a verdict as a value (STYLE: outcomes are values).
 */
import type { Message } from './types.js';
import { RCODE } from './types.js';

export type PolicyVerdict = { kind: 'continue' } | { kind: 'reply'; rcode: number; reason: string } | { kind: 'drop'; reason: string };

/** Zone transfers (AXFR/IXFR) pass: the chain's transfer entry decides about them (transport and ACL). */
export function queryPolicy(query: Message): PolicyVerdict {
  // Never answer a response: two servers could otherwise bounce packets between them forever.
  if (query.flags.qr) return { kind: 'drop', reason: 'QR set (a response, not a query)' };
  if (query.opcode !== 'QUERY') return { kind: 'reply', rcode: RCODE.NOTIMP, reason: `opcode ${query.opcode} not implemented` };
  // RFC 9619: a query has exactly one question.
  if (query.questions.length !== 1) return { kind: 'reply', rcode: RCODE.FORMERR, reason: `QDCOUNT ${query.questions.length}` };
  // RFC 6891 §6.1.3: we speak EDNS version 0 only.
  if (query.edns && query.edns.version !== 0) return { kind: 'reply', rcode: RCODE.BADVERS, reason: `EDNS version ${query.edns.version}` };
  const q = query.questions[0]!;
  if (q.class !== 'IN') return { kind: 'reply', rcode: RCODE.REFUSED, reason: `class ${q.class}` };
  if (q.type === 'OPT') return { kind: 'reply', rcode: RCODE.FORMERR, reason: 'OPT is not a query type' };
  return { kind: 'continue' };
}
