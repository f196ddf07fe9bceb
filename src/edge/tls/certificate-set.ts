/**
 * Certificates chosen by SNI (RFC 6066 §3): the exact name first, then a wildcard one label up
 * (`*.cdn.test` covers `www.cdn.test`, not `cdn.test` nor `a.b.cdn.test`: RFC 6125 §6.4.3), else the default.
 * A client without SNI, or with a name no certificate carries, gets the default certificate rather than an
 * alert (nginx's `default_server` does the same): it then decides itself whether the name it wanted matches, and
 * an IP-literal or legacy client still reaches the site.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { TlsCertificateFiles } from '../../config/types.js';

/** TLS 1.2 at least (issue 15); ciphers are node's defaults (OpenSSL's, without the weak ones). */
export const MIN_TLS_VERSION = 'TLSv1.2';

export interface LoadedCertificate {
  readonly files: TlsCertificateFiles;
  /** Lower-case DNS names it answers for (configured, else its subjectAltName DNS entries). */
  readonly names: readonly string[];
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly context: tls.SecureContext;
  readonly notAfter: Date;
}

/** Reads and checks one pair; the Error names the file and the reason (unreadable, not PEM, key mismatch). */
export function loadCertificate(files: TlsCertificateFiles): LoadedCertificate {
  const cert = readPem(files.cert);
  const key = readPem(files.key);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${files.cert}: not a PEM certificate (${message(err)})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`${files.key}: not a PEM private key (${message(err)})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`${files.key}: does not match the certificate in ${files.cert}`);
  const names = files.names ?? dnsNames(x509);
  if (names.length === 0) throw new Error(`${files.cert}: has no DNS subjectAltName; list its "names"`);
  const context = tls.createSecureContext({ cert, key, minVersion: MIN_TLS_VERSION });
  return { files, names: names.map((n) => n.toLowerCase()), cert, key, context, notAfter: new Date(x509.validTo) };
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${message(err)})`);
  }
}

/** `DNS:www.cdn.test, DNS:*.cdn.test, IP Address:127.0.0.1` -> the DNS names. */
export function dnsNames(x509: X509Certificate): string[] {
  const san = x509.subjectAltName;
  if (san === undefined) return [];
  return san
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4).toLowerCase());
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An immutable index of certificates by name; a reload builds a new one and swaps it in whole. */
export class CertificateSet {
  private readonly exact = new Map<string, LoadedCertificate>();
  private readonly wildcard = new Map<string, LoadedCertificate>();

  constructor(
    certificates: readonly LoadedCertificate[],
    readonly fallback: LoadedCertificate,
  ) {
    // The first certificate that names a host wins, as in the file's order.
    for (const c of certificates) {
      for (const n of c.names) {
        const index = n.startsWith('*.') ? this.wildcard : this.exact;
        const name = n.startsWith('*.') ? n.slice(2) : n;
        if (!index.has(name)) index.set(name, c);
      }
    }
  }

  /** The certificate for an SNI name (case-insensitive, RFC 6066 §3 "HostName"). */
  select(servername: string | undefined): LoadedCertificate {
    if (!servername) return this.fallback;
    const name = servername.toLowerCase().replace(/\.$/, '');
    const exact = this.exact.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    return (dot > 0 && this.wildcard.get(name.slice(dot + 1))) || this.fallback;
  }
}
