import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { logger } from '../log.js';
import type { OriginServer } from './server.js';
import type { Publisher } from './publisher.js';

const log = logger('origin');

/**
 * `--watch`: a file that changes under the content root is pushed, one that disappears is purged.
 * Events are debounced per path (editors write in several steps) and the pending set is bounded.
 */
export function watchContent(origin: OriginServer, publisher: Publisher, debounceMs = 200): FSWatcher {
  const pending = new Map<string, NodeJS.Timeout>();
  const watcher = watch(origin.root, { recursive: true }, (_event, name) => {
    if (typeof name !== 'string' || name.split(sep).some((s) => s.startsWith('.'))) return;
    if (pending.size >= 10_000 && !pending.has(name)) return;
    clearTimeout(pending.get(name));
    pending.set(
      name,
      setTimeout(() => {
        pending.delete(name);
        void sync(name);
      }, debounceMs),
    );
  });
  async function sync(name: string): Promise<void> {
    const urlPath = `/${name.split(sep).join('/')}`;
    try {
      const s = await stat(join(origin.root, name)).catch(() => undefined);
      if (s === undefined) await publisher.publish([{ op: { kind: 'purge', target: { type: 'url', path: urlPath } } }]);
      else if (s.isFile()) await origin.push([urlPath]);
      else return;
      log.info(s ? 'watch: pushed' : 'watch: purged', { path: urlPath });
    } catch (err) {
      log.warn('watch: publish failed', { path: urlPath, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return watcher;
}
