/**
 * The zones folder: every `<apex>.zone` file is one zone (`cdn.test.zone` -> cdn.test, `root.zone` or
 * `..zone` -> the root; so a TLD named "root" cannot have a file of its own); other files are only
 * reachable through $INCLUDE. Reloading re-reads every zone; a zone that now has errors keeps serving
 * its last good version (and the errors are logged with file and line), so a bad edit never
 * takes a zone off the air.
 */
import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { logger } from '../../log.js';
import { nameKey } from '../name.js';
import { parseMasterFile } from './parse.js';
import { Zone, ZoneSet } from './store.js';
import { validateZone } from './validate.js';

const log = logger('dns.zones');
const ZONE_SUFFIX = '.zone';
const ROOT_ZONE_STEM = 'root';

export interface ZoneLoadResult {
  file: string;
  apex: string;
  zone?: Zone;
  errors: ConfigError[];
}

/** Parses, validates and builds one zone file. Never throws for bad content. */
export function loadZoneFile(file: string, zonesDir: string): ZoneLoadResult {
  const stem = basename(file).slice(0, -ZONE_SUFFIX.length);
  // The root zone's own name would make "..zone"; accept the conventional "root.zone" too.
  const apex = stem === ROOT_ZONE_STEM ? '' : nameKey(stem);
  const parsed = parseMasterFile(file, { origin: apex === '' ? '.' : apex, includeDir: zonesDir });
  const errors = [...parsed.errors];
  if (errors.length === 0) errors.push(...validateZone(apex, file, parsed.records));
  if (errors.length > 0) return { file, apex, errors };
  return { file, apex, errors, zone: Zone.build(apex, parsed.records.map((r) => r.record)) };
}

export interface ReloadReport {
  loaded: string[];
  /** Zones whose new version has errors; `kept` tells whether a last good version still serves. */
  failed: Array<{ apex: string; kept: boolean; errors: ConfigError[] }>;
}

export class ZoneCatalog {
  /** Zone files loaded and rejected over all reloads, per zone file (plain counters for metrics). */
  readonly loads = { ok: 0, failed: 0 };
  private zones = new Map<string, Zone>();
  private current = new ZoneSet(new Map());
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(zones: ZoneSet) => void> = [];

  constructor(readonly dir: string) {}

  get zoneSet(): ZoneSet {
    return this.current;
  }

  /** Called after every reload that may have changed what we serve (caches of encoded answers drop their entries). */
  onChange(listener: (zones: ZoneSet) => void): void {
    this.listeners.push(listener);
  }

  reload(): ReloadReport {
    const report: ReloadReport = { loaded: [], failed: [] };
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith(ZONE_SUFFIX) && f.length > ZONE_SUFFIX.length);
    } catch (err) {
      log.error('cannot read the zones folder; keeping the zones already loaded', { dir: this.dir, error: String(err) });
      return report;
    }
    const next = new Map<string, Zone>();
    for (const f of files.sort()) {
      const result = loadZoneFile(join(this.dir, f), this.dir);
      if (result.zone) {
        next.set(result.apex, result.zone);
        report.loaded.push(result.apex);
        this.loads.ok++;
        continue;
      }
      const previous = this.zones.get(result.apex);
      if (previous) next.set(result.apex, previous);
      this.loads.failed++;
      report.failed.push({ apex: result.apex, kept: previous !== undefined, errors: result.errors });
      for (const e of result.errors) {
        log.error(previous ? 'zone has errors; serving its last good version' : 'zone has errors; not loaded', { zone: result.apex || '.', error: e.message });
      }
    }
    this.zones = next;
    this.current = new ZoneSet(next);
    for (const l of this.listeners) l(this.current);
    log.info('zones loaded', { loaded: report.loaded.length, failed: report.failed.length });
    return report;
  }

  /** Reloads shortly after the folder changes (editors write files in several steps, hence the debounce). */
  watch(debounceMs = 200): void {
    if (this.watcher) return;
    this.watcher = watch(this.dir, () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), debounceMs);
    });
    this.watcher.on('error', (err) => log.warn('zone folder watch failed; SIGHUP still reloads', { error: String(err) }));
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
