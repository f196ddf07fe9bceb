/**
 * Certificates for the TLS tests, made by the same demo CA code `npm start` uses (src/edge/tls/demo-ca.ts), in a
 * temporary folder per test file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsCertificateFiles } from '../../../src/config/types.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../../../src/edge/tls/demo-ca.js';

export interface TestPki {
  dir: string;
  ca: CertificateAuthority;
  caFile: string;
  /** Issues a certificate for `names` and writes it as `<label>.pem` / `<label>-key.pem`. */
  issue(label: string, names: readonly string[]): Promise<TlsCertificateFiles>;
  remove(): void;
}

export async function startPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-tls-'));
  const ca = await createCertificateAuthority('dnscdn test CA', 2);
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  return {
    dir,
    ca,
    caFile,
    issue: async (label, names) => {
      const pair = await issueCertificate(ca, names, 2);
      const files = { cert: join(dir, `${label}.pem`), key: join(dir, `${label}-key.pem`) };
      writeFileSync(files.key, pair.keyPem, { mode: 0o600 });
      writeFileSync(files.cert, pair.certPem);
      return files;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
