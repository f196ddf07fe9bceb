/**
 * Pending ACME HTTP-01 answers (RFC 8555 §8.3), kept as one file per token in a folder every edge reads.
 * Why a folder: the CA validates against whichever edge its resolver reaches, not the one that ordered, so every
 * edge must answer for every pending token. On one host (`dnscdn up`) a folder under var/ is the simplest store
 * all edge processes share, with nothing to run; across hosts the folder is a shared mount, or the orderer
 * writes on each host. A token lives for the minutes of one validation; the files are removed after it.
 * Reads are synchronous: a validation fetches a token a handful of times, and the file is a few dozen bytes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** RFC 8555 §8.1: a token is base64url; anything else never reaches the file system. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class ChallengeDirectory {
  constructor(readonly dir: string) {}

  /** The key authorization for a token, or undefined. */
  get(token: string): string | undefined {
    if (!TOKEN.test(token)) return undefined;
    try {
      return readFileSync(join(this.dir, token), 'utf8');
    } catch {
      return undefined;
    }
  }

  put(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token)) throw new Error(`ACME token "${token}" is not base64url`);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, token), keyAuthorization, { mode: 0o644 });
  }

  remove(token: string): void {
    if (TOKEN.test(token)) rmSync(join(this.dir, token), { force: true });
  }
}
