/**
 * TLS for the links between roles: which CA the clients of a deployment trust, and the certificate an admin
 * listener serves.
 *
 * One place per deployment: `tls.ca` in the file (or `--tls-ca`) is the CA bundle every outgoing https link of
 * the process trusts: edge -> origin, origin -> distribution node -> edges (push, purge), edge -> node (catch-up),
 * and the push/purge/status commands. Without it, Node's bundled public CAs are trusted (an origin with a public
 * certificate needs nothing). It is process-wide because a role process belongs to one deployment; the https
 * agents read it when they are made (client.ts, upstream/single-origin.ts).
 *
 * Certificate errors are explained in the caller's error, which names the URL (client.ts LinkError,
 * single-origin's 502): "certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN)" says what to fix, unlike the bare
 * OpenSSL text.
 */
import { readFileSync } from 'node:fs';

export interface ServerTls {
  /** PEM certificate chain (file contents). */
  cert: Buffer;
  /** PEM private key (file contents). */
  key: Buffer;
}

/** File paths as the deployment names them. */
export interface ServerTlsFiles {
  cert: string;
  key: string;
}

let trustedCa: Buffer | undefined;
let generation = 0;

/** Trust this CA bundle (PEM file) for every https link of the process; undefined = Node's public CAs. */
export function trustLinkCa(caFile: string | undefined): void {
  trustedCa = caFile === undefined ? undefined : readPem(caFile, 'CA');
  generation++;
}

/** The CA bundle links trust, or undefined for Node's defaults. */
export function linkCa(): Buffer | undefined {
  return trustedCa;
}

/** Changes each time the trust changes: agents made before it are replaced. */
export function linkTrustGeneration(): number {
  return generation;
}

/**
 * A role process's start: trust the deployment's CA for its links, and read the admin listener's certificate
 * (an unreadable file stops the start with its name, rather than an admin plane silently in clear).
 */
export function applyLinkTls(tls: { ca?: string | undefined; admin?: ServerTlsFiles | undefined } | undefined): ServerTls | undefined {
  trustLinkCa(tls?.ca);
  return tls?.admin ? readServerTls(tls.admin) : undefined;
}

export function readServerTls(files: ServerTlsFiles): ServerTls {
  return { cert: readPem(files.cert, 'certificate'), key: readPem(files.key, 'key') };
}

function readPem(file: string, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read TLS ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!pem.includes('-----BEGIN ')) throw new Error(`TLS ${what} ${file} is not PEM (no "-----BEGIN" line)`);
  return pem;
}

/** OpenSSL verification codes that mean "this peer's certificate is not one we trust". */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
]);

/**
 * A plain-words reason for a TLS failure, or undefined when `code` is not one. The fix is named: trust the
 * CA (`tls.ca`), or fix the name or dates of the peer's certificate.
 */
export function tlsFailureReason(code: string | undefined, message: string): string | undefined {
  if (code === undefined) return undefined;
  if (UNTRUSTED.has(code)) return `certificate not trusted (${code}): the peer's CA is not in tls.ca / --tls-ca`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `certificate does not name this host (${message})`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `certificate outside its validity dates (${code})`;
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO') return `TLS handshake failed (${code}): is the peer speaking https?`;
  return undefined;
}
