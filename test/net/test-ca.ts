/**
 * A throwaway certificate authority for TLS tests, made with the openssl CLI (as an operator would): a CA, and
 * server certificates it signs for the names and addresses a test asks for. Files live in a fresh temp folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate (what clients trust). */
  caFile: string;
  /** Issues a server certificate for DNS names and IP addresses; returns its PEM files. */
  issue(name: string, altNames: { dns?: string[]; ip?: string[] }): { certFile: string; keyFile: string; cert: Buffer; key: Buffer };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCa(label = 'dnscdn test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-ca-'));
  const caKey = join(dir, 'ca-key.pem');
  const caFile = join(dir, 'ca.pem');
  // EC P-256: key generation in milliseconds, where RSA 2048 takes a noticeable part of a second per key.
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${label}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 1;
  return {
    dir,
    caFile,
    issue(name, altNames) {
      const keyFile = join(dir, `${name}-key.pem`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      const sans = [...(altNames.dns ?? []).map((d) => `DNS:${d}`), ...(altNames.ip ?? []).map((i) => `IP:${i}`)].join(',');
      writeFileSync(ext, `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(serial++), '-days', '1', '-out', certFile, '-extfile', ext]);
      return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
    },
  };
}
