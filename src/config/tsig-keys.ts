/**
 * TSIG keys (RFC 8945) as the deployment file (`dns.transfer.tsigKeys`) and `--tsig-key` write them:
 * `name:hmac-sha256:base64secret`, or `name:hmac-sha256:@/path/to/file` to read the secret from a file (so
 * it stays out of `ps` and out of the YAML). Parsed here, not in src/dns, so that config can name the file,
 * line and key of a bad one without importing a role; src/dns/tsig.ts signs and verifies with them.
 */
import { readFileSync } from 'node:fs';

export const TSIG_ALGORITHM = 'hmac-sha256';

export interface TsigKey {
  /** Lower-case presentation name without the final dot, e.g. `transfer-key`. */
  name: string;
  algorithm: typeof TSIG_ALGORITHM;
  secret: Buffer;
}

/** One key from its `name:algorithm:secret` spec. Throws an Error naming the problem (never the secret). */
export function parseTsigKey(spec: string): TsigKey {
  const parts = spec.split(':');
  if (parts.length !== 3 || parts[0] === '') throw new Error(`TSIG key "${redact(spec)}": expected name:hmac-sha256:secret (base64) or name:hmac-sha256:@file`);
  const [name, algorithm, secretSpec] = parts as [string, string, string];
  return tsigKey(name, algorithm, secretSpec.startsWith('@') ? readSecretFile(name, secretSpec.slice(1)) : secretSpec);
}

function readSecretFile(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`TSIG key "${name}": cannot read the secret file ${file}: ${(err as Error).message}`);
  }
}

/** A validated key from its three fields (the deployment file and the flag both come here). */
export function tsigKey(name: string, algorithm: string, base64Secret: string): TsigKey {
  if (!/^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?$/.test(name)) throw new Error(`TSIG key "${name}": the name must be a host-name-like domain name`);
  if (algorithm.toLowerCase() !== TSIG_ALGORITHM) throw new Error(`TSIG key "${name}": algorithm "${algorithm}" is not supported (only ${TSIG_ALGORITHM})`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64Secret)) throw new Error(`TSIG key "${name}": the secret is not base64`);
  const secret = Buffer.from(base64Secret, 'base64');
  // RFC 8945 §6: keys shorter than the hash output weaken it; 16 bytes is the floor we accept.
  if (secret.length < 16) throw new Error(`TSIG key "${name}": the secret is ${secret.length} bytes; use at least 16 (32 recommended)`);
  return { name: name.toLowerCase().replace(/\.$/, ''), algorithm: TSIG_ALGORITHM, secret };
}

function redact(spec: string): string {
  return spec.split(':').slice(0, 2).join(':');
}
