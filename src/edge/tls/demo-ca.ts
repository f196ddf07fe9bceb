/**
 * A local certificate authority, as `mkcert` makes one: a CA certificate and key, and server certificates it
 * signs for the names given. `npm start` uses it so that every demo edge serves HTTPS with a certificate a client
 * can verify (`curl --cacert var/demo-ca/ca.pem`); tests use it for their certificates too.
 * node:crypto makes keys but cannot sign X.509, so the certificates are built with @peculiar/x509 (maintained,
 * typed, WebCrypto-based: no native code and no dependence on an `openssl` binary being installed); it is also
 * what acme-client builds its CSRs with, so it adds no second X.509 stack.
 * ECDSA P-256: small and fast to handshake, and accepted by every current TLS client.
 */
import { lock } from './file-lock.js';
import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { TlsCertificateFiles } from '../../config/types.js';
import { dnsNames } from './certificate-set.js';


const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
/** Renew a demo certificate this long before it expires, or when it lacks a name it must carry. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends PemPair {
  readonly cert: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

export async function createCertificateAuthority(commonName: string, validDays = 3650): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + validDays * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey, certPem: pem(cert), keyPem: await pkcs8Pem(keys.privateKey) };
}

/** Reads a CA written by `createCertificateAuthority` (PEM certificate and PKCS#8 key). */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(certPem);
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  return { cert, privateKey, certPem, keyPem };
}

/** A server certificate for `names` (DNS names, `*.` wildcards allowed; IP literals become IP entries). */
export async function issueCertificate(ca: CertificateAuthority, names: readonly string[], validDays = 365, ocspUrl?: string): Promise<PemPair> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${names[0]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + validDays * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      // Authority Information Access: where OCSP status is asked (tests of stapling run a responder).
      ...(ocspUrl !== undefined ? [new x509.AuthorityInfoAccessExtension({ ocsp: ocspUrl })] : []),
    ],
  });
  return { certPem: pem(cert), keyPem: await pkcs8Pem(keys.privateKey) };
}

/** PEM text ending in a newline, so that a chain is the plain concatenation of its certificates. */
function pem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').trimEnd()}\n`;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

export interface DemoCertificates {
  /** The CA certificate clients trust (`curl --cacert`). */
  caFile: string;
  server: TlsCertificateFiles;
  /** Whether anything was made now (first start, new names, or near expiry). */
  created: boolean;
}

/**
 * The demo CA and one server certificate for `names` in `dir`, made on first start and kept: the CA stays (a
 * client told to trust it keeps working), the server certificate is made again only when a name is missing or it
 * expires within 30 days. Keys are 0600. Files are written beside their final name and renamed into place, so a
 * watcher or a second process never reads half a file.
 */
export async function ensureDemoCertificates(dir: string, names: readonly string[]): Promise<DemoCertificates> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Edges started one by one (systemd units, a test) may all make the CA at once: one does, the others wait and
  // read it. Without the lock two of them could leave one's key beside the other's certificate.
  const release = await lock(join(dir, 'make.lock'), DEMO_LOCK_STALE_MS, DEMO_LOCK_STALE_MS);
  try {
    return await ensureLocked(dir, names);
  } finally {
    release();
  }
}

/** Making a key and a certificate takes well under a second; a lock this old was left by a process that died. */
const DEMO_LOCK_STALE_MS = 30_000;

async function ensureLocked(dir: string, names: readonly string[]): Promise<DemoCertificates> {
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  const server: TlsCertificateFiles = { cert: join(dir, 'edge.pem'), key: join(dir, 'edge-key.pem') };
  let created = false;
  let ca: CertificateAuthority;
  if (existsSync(caFile) && existsSync(caKey)) {
    ca = await loadCertificateAuthority(readFileSync(caFile, 'utf8'), readFileSync(caKey, 'utf8'));
  } else {
    ca = await createCertificateAuthority('dnscdn demo CA');
    writeAtomically(caKey, ca.keyPem, 0o600);
    writeAtomically(caFile, ca.certPem, 0o644);
    created = true;
  }
  if (created || !covers(server.cert, names)) {
    const pair = await issueCertificate(ca, names);
    writeAtomically(server.key, pair.keyPem, 0o600);
    writeAtomically(server.cert, pair.certPem, 0o644);
    created = true;
  }
  return { caFile, server, created };
}

function covers(certFile: string, names: readonly string[]): boolean {
  try {
    const cert = new NodeX509(readFileSync(certFile));
    const have = new Set(dnsNames(cert));
    const ips = cert.subjectAltName ?? '';
    const fresh = new Date(cert.validTo).getTime() - Date.now() > RENEW_BEFORE_MS;
    return fresh && names.every((n) => have.has(n.toLowerCase()) || ips.includes(`IP Address:${n}`));
  } catch {
    return false;
  }
}

/** Writes `path` whole or not at all (temp file + rename), with `mode`. */
export function writeAtomically(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
