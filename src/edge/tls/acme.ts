/**
 * Certificates from an ACME CA (RFC 8555), with acme-client doing the protocol: HTTP-01 challenges (§8.3) are
 * written to the challenge folder that every edge serves at recv (challenges.ts, pipeline.ts), so whichever edge
 * the CA's resolver reaches answers.
 *
 * - Issue when missing; renew at two thirds of the lifetime (Let's Encrypt's own advice for 90-day certificates:
 *   30 days before expiry), checking again at that moment.
 * - The account key and the certificate with its key live in `dir`, all 0600, written whole (temp file + rename).
 * - A failed order is retried with exponential backoff (1 min doubling to 1 h by default) and never touches the
 *   files or the certificate being served: a working certificate is only ever replaced by a newer working one.
 * - Several edge processes with the same settings (`dnscdn up`) share `dir`: an order takes a lock file there,
 *   so one process orders and the others pick the result up at their next check.
 * acme-client speaks HTTP through its own axios instance (not src/http/client.ts); the CA's TLS trust
 * (`caFile`, for a test CA such as Pebble) is set on that instance.
 */
import { tryLock } from './file-lock.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import * as acme from 'acme-client';
import type { AcmeConfig, TlsCertificateFiles } from '../../config/types.js';
import { logger } from '../../log.js';
import { ChallengeDirectory } from './challenges.js';
import { writeAtomically } from './demo-ca.js';
import type { ServedCertificates } from './served-certificates.js';

const log = logger('acme');

/** setTimeout's limit is 2^31 ms (24.8 days); longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A lock older than this belongs to a process that died mid-order. */
const STALE_LOCK_MS = 10 * 60_000;

export interface AcmeRetry {
  initialMs: number;
  maxMs: number;
}

const DEFAULT_RETRY: AcmeRetry = { initialMs: 60_000, maxMs: 3_600_000 };

export type AcmeOutcome = { kind: 'valid'; renewAt: number } | { kind: 'issued'; renewAt: number } | { kind: 'failed'; reason: string; retryInMs: number };

/** RFC 8555 leaves renewal to the client; two thirds of notBefore..notAfter. */
export function renewalTime(notBefore: number, notAfter: number): number {
  return notBefore + ((notAfter - notBefore) * 2) / 3;
}

export class AcmeManager {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private readonly challenges: ChallengeDirectory;
  readonly files: TlsCertificateFiles;
  /** After every attempt (tests and logs). */
  onOutcome: ((o: AcmeOutcome) => void) | undefined;

  constructor(
    private readonly config: AcmeConfig,
    private readonly certificates: ServedCertificates,
    private readonly retry: AcmeRetry = DEFAULT_RETRY,
    private readonly now: () => number = Date.now,
  ) {
    this.challenges = new ChallengeDirectory(config.challengeDir);
    const base = config.names[0]!.replace(/^\*\./, 'wildcard.');
    this.files = { cert: join(config.dir, `${base}.pem`), key: join(config.dir, `${base}-key.pem`), names: config.names };
    if (config.caFile !== undefined) acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(config.caFile) });
    // acme-client retries a failed request 5 times, 5 s apart and more; the order's own backoff (above) is the one
    // retry loop, so a request fails after one quick second try.
    const settings = (acme.axios.defaults as { acmeSettings?: Record<string, number> }).acmeSettings;
    if (settings) Object.assign(settings, { retryMaxAttempts: 1, retryDefaultDelay: 1 });
  }

  /** Serves what is on disk at once (if it loads), then checks now and at every renewal time. */
  start(): this {
    this.serveFromDisk();
    this.schedule(0);
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One check: keep a certificate that is not due, else order one. */
  async check(): Promise<AcmeOutcome> {
    const current = this.onDisk();
    if (current !== undefined && this.now() < current.renewAt) {
      this.serveFromDisk();
      return this.settle({ kind: 'valid', renewAt: current.renewAt });
    }
    try {
      const renewAt = await this.order();
      this.failures = 0;
      return this.settle({ kind: 'issued', renewAt });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const retryInMs = Math.min(this.retry.initialMs * 2 ** this.failures, this.retry.maxMs);
      this.failures++;
      log.error('ACME order failed; the certificate being served (if any) stays', { names: this.config.names.join(','), reason, retryInMs });
      return this.settle({ kind: 'failed', reason, retryInMs });
    }
  }

  private settle(o: AcmeOutcome): AcmeOutcome {
    this.onOutcome?.(o);
    this.schedule(o.kind === 'failed' ? o.retryInMs : Math.max(0, o.renewAt - this.now()));
    return o;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), Math.min(delayMs, MAX_TIMER_MS));
    this.timer.unref();
  }

  /** The certificate in `dir`, if it parses, and when it is due. */
  private onDisk(): { renewAt: number } | undefined {
    if (!existsSync(this.files.cert) || !existsSync(this.files.key)) return undefined;
    try {
      const x = new X509Certificate(readFileSync(this.files.cert));
      return { renewAt: renewalTime(Date.parse(x.validFrom), Date.parse(x.validTo)) };
    } catch {
      return undefined;
    }
  }

  private serveFromDisk(): void {
    if (this.onDisk() === undefined) return;
    try {
      this.certificates.add(this.files);
    } catch (err) {
      log.error('ACME certificate on disk does not load', { cert: this.files.cert, reason: err instanceof Error ? err.message : String(err) });
    }
  }

  private async order(): Promise<number> {
    mkdirSync(this.config.dir, { recursive: true, mode: 0o700 });
    const release = this.lock();
    try {
      // The account URL is kept beside the key: asking the CA to "create" a known account again makes acme-client
      // send an empty update, which strict CAs (Pebble) refuse.
      const accountUrlFile = join(this.config.dir, 'account-url');
      const accountUrl = existsSync(accountUrlFile) ? readFileSync(accountUrlFile, 'utf8').trim() : undefined;
      const client = new acme.Client({
        directoryUrl: this.config.directory,
        accountKey: await this.accountKey(),
        ...(accountUrl ? { accountUrl } : {}),
        backoffAttempts: 5,
        backoffMin: 200,
        backoffMax: 2000,
      });
      const [key, csr] = await acme.crypto.createCsr({ commonName: this.config.names[0]!, altNames: this.config.names }, await acme.crypto.createPrivateEcdsaKey());
      const chain = await client.auto({
        csr,
        ...(this.config.email !== undefined ? { email: this.config.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // acme-client's own pre-check fetches http://<name>/ from here; the CA's validation is the one that counts.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => this.challenges.put(challenge.token, keyAuthorization),
        challengeRemoveFn: async (_authz, challenge) => this.challenges.remove(challenge.token),
      });
      if (!accountUrl) writeAtomically(accountUrlFile, client.getAccountUrl(), 0o600);
      // Check before replacing anything: a chain that does not load never reaches the files.
      const x = new X509Certificate(chain);
      writeAtomically(this.files.key, key, 0o600);
      writeAtomically(this.files.cert, chain, 0o600);
      this.certificates.add(this.files);
      log.info('ACME certificate issued', { names: this.config.names.join(','), notAfter: x.validTo });
      return renewalTime(Date.parse(x.validFrom), Date.parse(x.validTo));
    } finally {
      release();
    }
  }

  private async accountKey(): Promise<Buffer> {
    const path = join(this.config.dir, 'account-key.pem');
    if (existsSync(path)) return readFileSync(path);
    const key = await acme.crypto.createPrivateEcdsaKey();
    writeAtomically(path, key, 0o600);
    return key;
  }

  /** One order at a time per `dir`, across processes. */
  private lock(): () => void {
    const path = join(this.config.dir, 'order.lock');
    const release = tryLock(path, STALE_LOCK_MS, this.now());
    if (!release) throw new Error(`another process is ordering (lock ${path})`);
    return release;
  }
}

export function startAcme(config: AcmeConfig, certificates: ServedCertificates): AcmeManager {
  return new AcmeManager(config, certificates).start();
}
