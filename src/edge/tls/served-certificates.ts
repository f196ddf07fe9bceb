/**
 * The certificates an HTTPS listener serves, kept current: loaded at start (a bad file refuses the start, naming
 * file and reason), reloaded when a file changes (a folder watch, so that a rename-into-place by certbot or
 * an ACME renewal is seen as well as an edit), and extended by ACME when it issues one.
 * A file that fails to load on reload keeps the certificate that was served before, and the failure is logged
 * with the file and the reason; open connections keep the context they shook hands with, so nothing is dropped.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type tls from 'node:tls';
import type { TlsCertificateFiles } from '../../config/types.js';
import { logger } from '../../log.js';
import { CertificateSet, loadCertificate, type LoadedCertificate } from './certificate-set.js';

const log = logger('tls');

/** Editors and `cp` write a file in several steps; one reload after the writes settle. */
const RELOAD_DEBOUNCE_MS = 200;

export class ServedCertificates {
  private loaded = new Map<TlsCertificateFiles, LoadedCertificate>();
  private order: TlsCertificateFiles[] = [];
  private defaultFiles: TlsCertificateFiles | undefined;
  private current: CertificateSet | undefined;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly watchedFiles = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Called with the new default after every change (the listener's context for clients without SNI). */
  onDefaultChange: ((c: LoadedCertificate) => void) | undefined;
  /** Called after each reload attempt (tests wait on it instead of sleeping). */
  onReload: ((failures: readonly string[]) => void) | undefined;

  /** Loads every pair now; throws the first failure (file and reason). `defaultFiles` absent: the first pair. */
  constructor(files: readonly TlsCertificateFiles[], defaultFiles?: TlsCertificateFiles) {
    for (const f of files) this.addLoaded(f, loadCertificate(f));
    if (defaultFiles) {
      this.defaultFiles = defaultFiles;
      this.addLoaded(defaultFiles, loadCertificate(defaultFiles), false);
    }
    this.rebuild();
  }

  /** Whether any certificate is loaded (an edge waiting for its first ACME certificate has none yet). */
  get ready(): boolean {
    return this.current !== undefined;
  }

  get set(): CertificateSet | undefined {
    return this.current;
  }

  /** node's SNICallback: the context for the name the client asked for. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const set = this.current;
    if (set === undefined) cb(new Error('no certificate loaded yet'));
    else cb(null, set.select(servername).context);
  };

  /** Adds or replaces a pair (ACME issuance). Throws if it does not load; what was served stays. */
  add(files: TlsCertificateFiles): void {
    const existing = this.order.find((f) => f.cert === files.cert && f.key === files.key);
    this.addLoaded(existing ?? files, loadCertificate(files));
    this.rebuild();
  }

  /** Watches the folders of every file (again after `add`). */
  watch(): void {
    for (const f of [...this.order, ...(this.defaultFiles ? [this.defaultFiles] : [])]) {
      for (const path of [f.cert, f.key]) {
        this.watchedFiles.add(path);
        const dir = dirname(path);
        if (this.watchers.has(dir)) continue;
        try {
          const w = watch(dir, (_event, name) => {
            if (name === null || [...this.watchedFiles].some((p) => dirname(p) === dir && basename(p) === name)) this.scheduleReload();
          });
          w.on('error', (err) => log.warn('certificate folder watch failed', { dir, error: err.message }));
          this.watchers.set(dir, w);
        } catch (err) {
          log.warn('cannot watch certificate folder', { dir, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }

  /** Reloads every pair; each one that fails keeps its previous certificate. */
  reload(): string[] {
    const failures: string[] = [];
    for (const f of [...this.loaded.keys()]) {
      try {
        this.loaded.set(f, loadCertificate(f));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        failures.push(reason);
        log.error('certificate reload failed; the previous certificate stays', { cert: f.cert, key: f.key, reason });
      }
    }
    this.rebuild();
    if (failures.length === 0) log.info('certificates reloaded', { count: this.loaded.size });
    this.onReload?.(failures);
    return failures;
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private scheduleReload(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS);
    this.timer.unref();
  }

  private addLoaded(f: TlsCertificateFiles, c: LoadedCertificate, listed = true): void {
    this.loaded.set(f, c);
    if (listed && !this.order.includes(f)) this.order.push(f);
  }

  private rebuild(): void {
    const listed = this.order.map((f) => this.loaded.get(f)!);
    const fallback = this.defaultFiles ? this.loaded.get(this.defaultFiles) : listed[0];
    if (fallback === undefined) return;
    const before = this.current?.fallback;
    this.current = new CertificateSet(listed, fallback);
    if (before !== fallback) this.onDefaultChange?.(fallback);
  }
}
