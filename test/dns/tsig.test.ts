/**
 * TSIG (RFC 8945) on wire buffers: our signer and verifier against each other and against the
 * record layout of §4.2, and every refusal of §5.2 (BADKEY, BADSIG, BADTIME, truncated MAC).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTsigKey, signMessage, TSIG_ERROR, TsigSigner, tsigKey, verifyRequest, type TsigKey } from '../../src/dns/tsig.js';
import { encodeMessage } from '../../src/dns/wire.js';
import { query } from './query-client.js';

const NOW = 1_790_000_000;
const key = tsigKey('transfer-key', 'hmac-sha256', Buffer.alloc(32, 7).toString('base64'));
const other = tsigKey('transfer-key', 'hmac-sha256', Buffer.alloc(32, 9).toString('base64'));
const axfr = (): Buffer => encodeMessage(query('cdn.test', 'AXFR'));

/** Offsets in a message we signed: the TSIG RR is last; its rdata ends with MAC size, MAC, id, error, other len. */
function macOf(signed: Buffer, unsignedLength: number): { sizeAt: number; mac: Buffer } {
  const sizeAt = unsignedLength + 'transfer-key'.length + 2 + 10 + 'hmac-sha256'.length + 2 + 8;
  const size = signed.readUInt16BE(sizeAt);
  return { sizeAt, mac: signed.subarray(sizeAt + 2, sizeAt + 2 + size) };
}

describe('TSIG record layout (RFC 8945 §4.2) and MAC (§4.3.3)', () => {
  it('appends one TSIG RR (type 250, class ANY, TTL 0) and bumps ARCOUNT; the MAC is HMAC-SHA256 over message + variables', () => {
    const unsigned = axfr();
    const signed = signMessage(unsigned, key, NOW);
    expect(signed.readUInt16BE(10)).toBe(unsigned.readUInt16BE(10) + 1);
    const rr = signed.subarray(unsigned.length);
    const owner = Buffer.from('\x0ctransfer-key\x00', 'latin1');
    expect(rr.subarray(0, owner.length)).toEqual(owner);
    expect(rr.readUInt16BE(owner.length)).toBe(250);
    expect(rr.readUInt16BE(owner.length + 2)).toBe(255);
    expect(rr.readUInt32BE(owner.length + 4)).toBe(0);
    const { mac } = macOf(signed, unsigned.length);
    expect(mac).toHaveLength(32);
    // Recompute §4.3.3 by hand: message, key name, class ANY, TTL 0, algorithm, 48-bit time, fudge, error 0, other len 0.
    const time = Buffer.alloc(6);
    time.writeUIntBE(NOW, 0, 6);
    const vars = Buffer.concat([owner, Buffer.from([0, 255, 0, 0, 0, 0]), Buffer.from('\x0bhmac-sha256\x00', 'latin1'), time, Buffer.from([1, 44, 0, 0, 0, 0])]);
    expect(mac).toEqual(createHmac('sha256', key.secret).update(unsigned).update(vars).digest());
  });
});

describe('verifyRequest (§5.2)', () => {
  it('round trip: a request we signed verifies', () => {
    expect(verifyRequest(signMessage(axfr(), key, NOW), [key], NOW).kind).toBe('valid');
  });

  it('an unsigned request is "unsigned" (the caller decides whether that is allowed)', () => {
    expect(verifyRequest(axfr(), [key], NOW)).toEqual({ kind: 'unsigned' });
  });

  it.each<[string, (b: Buffer) => Buffer, TsigKey[], number, string]>([
    ['wrong key name', (b) => b, [tsigKey('another-key', 'hmac-sha256', key.secret.toString('base64'))], NOW, 'BADKEY'],
    ['no keys at all', (b) => b, [], NOW, 'BADKEY'],
    ['wrong secret', (b) => b, [other], NOW, 'BADSIG'],
    ['tampered question byte', (b) => flip(b, 14), [key], NOW, 'BADSIG'],
    ['tampered MAC byte', (b) => flip(b, b.length - 10), [key], NOW, 'BADSIG'],
    ['301 s late', (b) => b, [key], NOW + 301, 'BADTIME'],
    ['301 s early', (b) => b, [key], NOW - 301, 'BADTIME'],
  ])('%s: %s', (_, change, keys, now, error) => {
    const v = verifyRequest(change(signMessage(axfr(), key, NOW)), keys, now);
    expect(v.kind === 'invalid' && v.error).toBe(error);
    expect(v.kind === 'invalid' && v.rcode).toBe(9); // NOTAUTH
  });

  it('a request asking for a larger fudge than 300 s does not widen our window', () => {
    const v = verifyRequest(signMessage(axfr(), key, NOW, 65535), [key], NOW + 1000);
    expect(v.kind === 'invalid' && v.error).toBe('BADTIME');
  });

  it('300 s off is still within the fudge', () => {
    expect(verifyRequest(signMessage(axfr(), key, NOW), [key], NOW + 300).kind).toBe('valid');
  });

  it('a truncated MAC is refused: BADTRUNC above the §5.2.2.1 floor, FORMERR below it or when the record is cut', () => {
    const unsigned = axfr();
    const truncate = (to: number): Buffer => {
      const signed = signMessage(unsigned, key, NOW);
      const { sizeAt } = macOf(signed, unsigned.length);
      const out = Buffer.concat([signed.subarray(0, sizeAt + 2 + to), signed.subarray(sizeAt + 2 + 32)]);
      out.writeUInt16BE(to, sizeAt);
      out.writeUInt16BE(out.readUInt16BE(unsigned.length + 14 + 8) - (32 - to), unsigned.length + 14 + 8); // rdlength
      return out;
    };
    const at16 = verifyRequest(truncate(16), [key], NOW);
    expect(at16.kind === 'invalid' && at16.error).toBe('BADTRUNC');
    const at8 = verifyRequest(truncate(8), [key], NOW);
    expect(at8.kind === 'invalid' && at8.error).toBe('FORMERR');
    const signed = signMessage(unsigned, key, NOW);
    for (let cut = unsigned.length + 1; cut < signed.length; cut++) {
      const v = verifyRequest(signed.subarray(0, cut), [key], NOW);
      expect(v.kind === 'valid').toBe(false);
    }
  });

  it('never throws on arbitrary bytes after a valid header', () => {
    const signed = signMessage(axfr(), key, NOW);
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(signed);
      for (let j = 0; j < 3; j++) b[12 + ((i * 7 + j * 13) % (b.length - 12))] = (i * 31 + j) & 0xff;
      expect(() => verifyRequest(b, [key], NOW)).not.toThrow();
    }
  });
});

describe('TsigSigner: a signed answer stream (§5.3, §5.3.1)', () => {
  it('the first MAC covers the request MAC; each next one the previous MAC and timers only', () => {
    const request = signMessage(axfr(), key, NOW);
    const v = verifyRequest(request, [key], NOW);
    if (v.kind !== 'valid') throw new Error('request should verify');
    const requestMac = macOf(request, axfr().length).mac;
    const m1 = encodeMessage({ ...query('cdn.test', 'AXFR'), flags: { ...query('cdn.test', 'AXFR').flags, qr: true } });
    const s1 = v.signer.sign(m1, NOW);
    const s2 = v.signer.sign(m1, NOW);
    const mac1 = macOf(s1, m1.length).mac;
    const mac2 = macOf(s2, m1.length).mac;
    const time = Buffer.alloc(6);
    time.writeUIntBE(NOW, 0, 6);
    const prefixed = (mac: Buffer): Buffer => Buffer.concat([Buffer.from([0, mac.length]), mac]);
    const vars = Buffer.concat([Buffer.from('\x0ctransfer-key\x00', 'latin1'), Buffer.from([0, 255, 0, 0, 0, 0]), Buffer.from('\x0bhmac-sha256\x00', 'latin1'), time, Buffer.from([1, 44, 0, 0, 0, 0])]);
    expect(mac1).toEqual(createHmac('sha256', key.secret).update(prefixed(requestMac)).update(m1).update(vars).digest());
    expect(mac2).toEqual(createHmac('sha256', key.secret).update(prefixed(mac1)).update(m1).update(Buffer.concat([time, Buffer.from([1, 44])])).digest());
    expect(v.signer).toBeInstanceOf(TsigSigner);
  });

  it('a BADTIME answer carries our time in Other Data', () => {
    const v = verifyRequest(signMessage(axfr(), key, NOW - 1000), [key], NOW);
    if (v.kind !== 'invalid' || !v.signer) throw new Error('expected a signed BADTIME');
    const signed = v.signer.sign(axfr(), NOW, TSIG_ERROR.BADTIME, Buffer.from([0, 0, 0x6a, 0xb0, 0x3f, 0x80]));
    expect(signed.readUInt16BE(signed.length - 10)).toBe(18);
    expect(signed.readUInt16BE(signed.length - 8)).toBe(6);
  });
});

describe('keys from flags', () => {
  it('parses name:hmac-sha256:secret and refuses other algorithms, short or non-base64 secrets', () => {
    expect(parseTsigKey(`Transfer-Key.:hmac-sha256:${key.secret.toString('base64')}`)).toEqual(key);
    expect(() => parseTsigKey(`k:hmac-md5:${key.secret.toString('base64')}`)).toThrow(/algorithm "hmac-md5" is not supported/);
    expect(() => parseTsigKey('k:hmac-sha256:c2hvcnQ=')).toThrow(/at least 16/);
    expect(() => parseTsigKey('k:hmac-sha256:not base64!')).toThrow(/not base64/);
    expect(() => parseTsigKey('k:hmac-sha256')).toThrow(/expected name:hmac-sha256:secret/);
    expect(() => parseTsigKey('k:hmac-sha256:@/nonexistent/secret')).toThrow(/TSIG key "k": cannot read the secret file \/nonexistent\/secret/);
  });

  it('reads the secret from a file with @file (kept out of ps)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tsig-')), 'secret');
    writeFileSync(file, `${key.secret.toString('base64')}\n`);
    expect(parseTsigKey(`transfer-key:hmac-sha256:@${file}`)).toEqual(key);
  });
});

function flip(b: Buffer, at: number): Buffer {
  const out = Buffer.from(b);
  out[at] = out[at]! ^ 0x20 ^ 0x01;
  return out;
}
