import { describe, expect, it } from 'vitest';
import type { ClientInfo } from '../../src/dns/client.js';
import { serialNewer, ZoneTransfer } from '../../src/dns/transfer.js';
import { signMessage, TSIG_ERROR, tsigKey } from '../../src/dns/tsig.js';
import { RCODE } from '../../src/dns/types.js';
import { decodeMessage, encodeMessage } from '../../src/dns/wire.js';
import { ZoneSet } from '../../src/dns/zone/store.js';
import { query } from './query-client.js';

describe('serialNewer (RFC 1982 serial arithmetic)', () => {
  it.each([
    [2, 1, true],
    [1, 2, false],
    [5, 5, false],
    [0, 0xffffffff, true], // wraps around
    [0xffffffff, 0, false],
    [0x7fffffff, 0, true],
    [0x80000000, 0, false], // exactly half way: undefined, never "newer"
  ])('%i newer than %i: %s', (a, b, newer) => {
    expect(serialNewer(a, b)).toBe(newer);
  });
});

describe('ZoneTransfer with a TSIG key (RFC 8945 §5.2)', () => {
  const NOW = 1_790_000_000;
  const key = tsigKey('transfer-key', 'hmac-sha256', Buffer.alloc(32, 7).toString('base64'));
  const client: ClientInfo = { address: '127.0.0.1', port: 5000, transport: 'tcp' };
  const noZones = (): ZoneSet => new ZoneSet(new Map());
  const request = (): Buffer => encodeMessage(query('cdn.test', 'AXFR'));
  const answer = (transfer: ZoneTransfer, frame: Buffer): Buffer => {
    const d = decodeMessage(frame);
    if (d.kind !== 'message') throw new Error('undecodable');
    const out = transfer.answer(d.message, client, frame);
    expect(out).toHaveLength(1);
    return out[0]!;
  };
  /** The TSIG error and Other Data at the end of a reply's TSIG record. */
  const tsigTail = (reply: Buffer, otherLength: number): { error: number; other: Buffer } => ({
    error: reply.readUInt16BE(reply.length - otherLength - 4),
    other: reply.subarray(reply.length - otherLength),
  });

  it('unsigned: REFUSED, without a TSIG record', () => {
    const reply = answer(new ZoneTransfer(noZones, ['127.0.0.0/8'], 1232, { tsigKeys: [key], now: () => NOW }), request());
    expect(reply[3]! & 0xf).toBe(RCODE.REFUSED);
    expect(reply.readUInt16BE(10)).toBe(0);
  });

  it('wrong secret: NOTAUTH with BADSIG and an empty MAC (unsigned, §5.3.2)', () => {
    const wrong = tsigKey('transfer-key', 'hmac-sha256', Buffer.alloc(32, 9).toString('base64'));
    const reply = answer(new ZoneTransfer(noZones, ['127.0.0.0/8'], 1232, { tsigKeys: [key], now: () => NOW }), signMessage(request(), wrong, NOW));
    expect(reply[3]! & 0xf).toBe(RCODE.NOTAUTH);
    expect(tsigTail(reply, 0).error).toBe(TSIG_ERROR.BADSIG);
    expect(reply.readUInt16BE(reply.length - 8)).toBe(0); // MAC size, before original id, error, other len
  });

  it('a signed request where no key is configured: NOTAUTH with BADKEY', () => {
    const reply = answer(new ZoneTransfer(noZones, ['127.0.0.0/8'], 1232, { now: () => NOW }), signMessage(request(), key, NOW));
    expect(reply[3]! & 0xf).toBe(RCODE.NOTAUTH);
    expect(tsigTail(reply, 0).error).toBe(TSIG_ERROR.BADKEY);
  });

  it('signed 10 minutes ago: NOTAUTH with BADTIME, signed, our time in Other Data (§5.2.3)', () => {
    const reply = answer(new ZoneTransfer(noZones, ['127.0.0.0/8'], 1232, { tsigKeys: [key], now: () => NOW }), signMessage(request(), key, NOW - 600));
    expect(reply[3]! & 0xf).toBe(RCODE.NOTAUTH);
    const { error, other } = tsigTail(reply, 6);
    expect(error).toBe(TSIG_ERROR.BADTIME);
    expect(other.readUIntBE(0, 6)).toBe(NOW);
    expect(reply.readUInt16BE(reply.length - 6 - 6 - 32 - 2)).toBe(32); // a full MAC: the answer is signed
  });
});
