/**
 * What a role process does with its deployment file beyond its own section: applies the `log:` settings when it
 * loads the file, and again on SIGHUP.
 *
 * SIGHUP for the roles whose running state is not rebuilt from the file (edge, origin, distribution node): the
 * file is read and validated again, and its `log:` section applied. Their other keys (listeners, cache size,
 * edges to feed) take effect on a restart, which the log line says. The DNS role reloads in full (reload.ts).
 * Without a handler, SIGHUP would end the process, and systemd counts that as a clean exit (no restart).
 */
import { applyFileLogSettings, logger } from '../log.js';
import { loadDeployment } from './load.js';
import type { Deployment } from './types.js';

const log = logger('config');

/** Loads the file (errors name file, line and key) and applies its `log:` section where no flag or variable did. */
export function loadDeploymentWithLogSettings(file: string): Deployment {
  const d = loadDeployment(file);
  applyFileLogSettings(d.log);
  return d;
}

export function reloadLogSettingsOnHangup(role: string, file: string | undefined): () => void {
  const onHup = (): void => {
    if (file === undefined) return void log.info('SIGHUP: no deployment file to reload (started from flags)', { role });
    try {
      const d = loadDeployment(file);
      // Said before the new level applies, so a change from info to warn is still confirmed.
      log.info('SIGHUP: deployment file valid; applying its log settings (other changes take effect on restart)', { role, file, level: d.log?.level, format: d.log?.format });
      applyFileLogSettings(d.log);
    } catch (err) {
      log.error('SIGHUP: deployment file refused; running as before', { role, error: err instanceof Error ? err.message : String(err) });
    }
  };
  process.on('SIGHUP', onHup);
  return () => void process.off('SIGHUP', onHup);
}
