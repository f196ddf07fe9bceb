/**
 * A deployment that can be reloaded in place: SIGHUP (or a change of the file) validates the file
 * again, and only a deployment that passes replaces the running one. A bad edit is logged with its
 * file, line and key and the last good deployment stays in force.
 */
import { watchFile, unwatchFile } from 'node:fs';
import { ConfigError } from '../errors.js';
import { applyFileLogSettings, logger } from '../log.js';
import { loadDeployment, type LoadOptions } from './load.js';
import type { Deployment } from './types.js';

const log = logger('config');

export type ReloadResult = { ok: true; deployment: Deployment } | { ok: false; error: Error };

export class ReloadableDeployment {
  private deployment: Deployment;
  private readonly listeners: Array<(d: Deployment) => void> = [];

  /** Loads the file; a first load that fails throws (nothing to fall back to). */
  constructor(
    readonly file: string,
    private readonly options: LoadOptions = {},
  ) {
    this.deployment = loadDeployment(file, options);
    applyFileLogSettings(this.deployment.log);
  }

  current(): Deployment {
    return this.deployment;
  }

  onChange(listener: (d: Deployment) => void): void {
    this.listeners.push(listener);
  }

  reload(): ReloadResult {
    let next: Deployment;
    try {
      next = loadDeployment(this.file, this.options);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      log.error('config reload refused; keeping the last good deployment', { error: error.message, config: err instanceof ConfigError ? err.position.file : this.file });
      return { ok: false, error };
    }
    this.deployment = next;
    applyFileLogSettings(next.log);
    log.info('config reloaded', { file: this.file });
    for (const l of this.listeners) l(next);
    return { ok: true, deployment: next };
  }

  /** Reloads on SIGHUP and when the file changes on disk (polled: fs.watch misses editors' rename-and-replace). Returns a stop function. */
  watch(pollMs = 1000): () => void {
    const onHup = (): void => void this.reload();
    process.on('SIGHUP', onHup);
    const onFile = (cur: { mtimeMs: number }, prev: { mtimeMs: number }): void => {
      if (cur.mtimeMs !== prev.mtimeMs) this.reload();
    };
    watchFile(this.file, { interval: pollMs, persistent: false }, onFile);
    return () => {
      process.off('SIGHUP', onHup);
      unwatchFile(this.file, onFile);
    };
  }
}
