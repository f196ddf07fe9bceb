/**
 * OCSP stapling (RFC 6960, RFC 6066 §8): when a served certificate names an OCSP responder (Authority Information
 * Access), the edge fetches its status and staples it to handshakes that ask (`status_request`). A certificate
 * without a responder URL gets nothing, and so does one whose issuer is not in the served chain.
 * The first handshake after start (or after expiry) is not held up by the responder: it goes without a staple
 * while the fetch runs in the background, as nginx does; later ones get the cached response until its
 * nextUpdate (or an hour when the responder gives none). A failed fetch is logged and retried at the next
 * handshake, at most once a minute.
 * node:crypto has no OCSP codec, so the request (a CertID: SHA-1 of the issuer's name and key, and the serial) is
 * built and the response's status and nextUpdate read with the small DER reader below.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { request } from '../../http/client.js';
import { logger } from '../../log.js';

const log = logger('tls');

const NO_NEXT_UPDATE_MS = 3_600_000;
const RETRY_AFTER_FAILURE_MS = 60_000;

interface Tlv {
  tag: number;
  /** The whole element, tag and length included. */
  raw: Buffer;
  content: Buffer;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('DER: unsupported length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    header += n;
  }
  if (at + header + len > buf.length) throw new Error('DER: element runs past the end');
  return { tag, raw: buf.subarray(at, at + header + len), content: buf.subarray(at + header, at + header + len) };
}

function children(content: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < content.length; ) {
    const t = readTlv(content, at);
    out.push(t);
    at += t.raw.length;
  }
  return out;
}

function encode(tag: number, content: Buffer): Buffer {
  const len = content.length;
  const head = len < 0x80 ? Buffer.from([tag, len]) : len < 0x100 ? Buffer.from([tag, 0x81, len]) : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([head, content]);
}

const seq = (...parts: Buffer[]): Buffer => encode(0x30, Buffer.concat(parts));
const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
/** AlgorithmIdentifier for SHA-1 (1.3.14.3.2.26) with NULL parameters: what responders expect in a CertID. */
const SHA1_ALGORITHM = Buffer.from('300906052b0e03021a0500', 'hex');

/** The fields of a certificate's TBSCertificate, without the optional [0] version. */
function tbsFields(der: Buffer): Tlv[] {
  const tbs = children(readTlv(der, 0).content)[0]!;
  const fields = children(tbs.content);
  return fields[0]!.tag === 0xa0 ? fields.slice(1) : fields;
}

/** RFC 6960 §4.1.1 OCSPRequest for one certificate. */
export function ocspRequest(certDer: Buffer, issuerDer: Buffer): Buffer {
  const [serial, , issuerName] = tbsFields(certDer);
  const issuerSpki = tbsFields(issuerDer)[5]!;
  const subjectPublicKey = children(issuerSpki.content)[1]!.content.subarray(1); // BIT STRING without its unused-bits byte
  const certId = seq(SHA1_ALGORITHM, encode(0x04, sha1(issuerName!.raw)), encode(0x04, sha1(subjectPublicKey)), serial!.raw);
  return seq(seq(seq(seq(certId))));
}

/** The response's status (0 = successful) and the first SingleResponse's nextUpdate. */
export function readOcspResponse(der: Buffer): { status: number; nextUpdate: Date | undefined } {
  const [status, bytes] = children(readTlv(der, 0).content);
  if (status === undefined || status.tag !== 0x0a) throw new Error('OCSP: no response status');
  if (bytes === undefined) return { status: status.content[0]!, nextUpdate: undefined };
  const basicDer = children(children(bytes.content)[0]!.content)[1]!.content;
  const tbs = children(readTlv(basicDer, 0).content)[0]!;
  const responses = children(tbs.content).find((t, i, all) => t.tag === 0x30 && all[i - 1]?.tag === 0x18)!;
  const single = children(children(responses.content)[0]!.content);
  const next = single.find((t) => t.tag === 0xa0);
  return { status: status.content[0]!, nextUpdate: next ? generalizedTime(children(next.content)[0]!.content.toString('latin1')) : undefined };
}

function generalizedTime(t: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/.exec(t);
  if (!m) throw new Error(`OCSP: bad time ${t}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** `OCSP - URI:http://ocsp.example/` in the certificate's Authority Information Access. */
export function ocspResponderUrl(cert: X509Certificate): string | undefined {
  return /OCSP - URI:(\S+)/.exec(cert.infoAccess ?? '')?.[1];
}

interface Stapled {
  response: Buffer | undefined;
  /** Until when `response` may be stapled (its nextUpdate). */
  validUntil: number;
  /** When a fetch may start (now, or a minute after a failure). */
  fetchAfter: number;
  fetching: boolean;
}

/** The `OCSPRequest` handler of a TLS server, with its cache (one entry per served certificate). */
export class OcspStapler {
  private readonly cache = new Map<string, Stapled>();

  constructor(private readonly now: () => number = Date.now) {}

  readonly onRequest = (certificate: Buffer, issuer: Buffer | null, callback: (err: Error | null, response?: Buffer | null) => void): void => {
    const key = sha1(certificate).toString('hex');
    let entry = this.cache.get(key);
    const url = issuer ? ocspResponderUrl(new X509Certificate(certificate)) : undefined;
    if (entry === undefined) {
      // Bounded by the certificates served: one entry each (a replaced certificate's stays, a few bytes).
      entry = { response: undefined, validUntil: 0, fetchAfter: url === undefined ? Infinity : 0, fetching: false };
      this.cache.set(key, entry);
    }
    const now = this.now();
    if (url !== undefined && issuer && now >= entry.validUntil && now >= entry.fetchAfter && !entry.fetching) this.fetch(entry, url, certificate, issuer);
    callback(null, entry.response !== undefined && now < entry.validUntil ? entry.response : null);
  };

  private fetch(entry: Stapled, url: string, certificate: Buffer, issuer: Buffer): void {
    entry.fetching = true;
    void request(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: ocspRequest(certificate, issuer), timeoutMs: 5000, maxBodyBytes: 64 * 1024 })
      .then((res) => {
        if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status}`);
        const parsed = readOcspResponse(res.body);
        if (parsed.status !== 0) throw new Error(`POST ${url}: OCSP response status ${parsed.status}`);
        entry.response = res.body;
        entry.validUntil = parsed.nextUpdate?.getTime() ?? this.now() + NO_NEXT_UPDATE_MS;
      })
      .catch((err: unknown) => {
        entry.fetchAfter = this.now() + RETRY_AFTER_FAILURE_MS;
        log.warn('OCSP fetch failed; handshakes go without a staple', { error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => (entry.fetching = false));
  }
}
