/**
 * The zones folder: every `<apex>.zone` file is one zone (`cdn.test.zone` -> cdn.test, `root.zone` or
 * `..zone` -> the root; so a TLD named "root" cannot have a file of its own); other files are only
 * reachable through $INCLUDE. Reloading re-reads every zone; a zone that now has errors keeps serving
 * its last good version (and the errors are logged with file and line), so a bad edit never
 * takes a zone off the air.
 *
 * A reload runs beside the queries: parsing, building and checking give the event loop a turn every
 * LOAD_SLICE_MS (steps.ts), and the previous zones answer until the new set replaces them in one
 * assignment. A reload asked for while one runs is queued (once) behind it.
 */
import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { logger } from '../../log.js';
import { nameKey } from '../name.js';
import { parseMasterFileSteps } from './parse.js';
import { runSteps, runStepsPaced, type Steps } from './steps.js';
import { Zone, ZoneSet } from './store.js';
import { ZoneTableBuilder } from './table.js';
import { checkZone } from './validate.js';

const log = logger('dns.zones');
const ZONE_SUFFIX = '.zone';
const ROOT_ZONE_STEM = 'root';
/**
 * Longest stretch of loading between two turns of the event loop. A UDP socket's default receive
 * buffer (~208 KB) holds ~2,000 queries: at 20k queries/s, 10 ms of loading queues ~200 of them.
 */
export const LOAD_SLICE_MS = 10;

export interface ZoneLoadResult {
  file: string;
  apex: string;
  zone?: Zone;
  errors: ConfigError[];
}

/** Parses, validates and builds one zone file in one go (tools and tests). Never throws for bad content. */
export function loadZoneFile(file: string, zonesDir: string): ZoneLoadResult {
  return runSteps(loadZoneSteps(file, zonesDir));
}

/** The same, giving the event loop a turn every `sliceMs` (how the catalog loads). */
export function loadZoneFilePaced(file: string, zonesDir: string, sliceMs = LOAD_SLICE_MS): Promise<ZoneLoadResult> {
  return runStepsPaced(loadZoneSteps(file, zonesDir), sliceMs);
}

/** The zone a file is for: its name without `.zone`. */
function apexOfFile(file: string): string {
  const stem = basename(file).slice(0, -ZONE_SUFFIX.length);
  // The root zone's own name would make "..zone"; accept the conventional "root.zone" too.
  return stem === ROOT_ZONE_STEM ? '' : nameKey(stem);
}

/** Records go from the parser straight into the zone's columns: no array of every record, ever. */
function* loadZoneSteps(file: string, zonesDir: string): Steps<ZoneLoadResult> {
  const apex = apexOfFile(file);
  const builder = new ZoneTableBuilder(apex);
  const errors: ConfigError[] = [];
  yield* parseMasterFileSteps(file, { origin: apex === '' ? '.' : apex, includeDir: zonesDir }, (r) => builder.add(r.record, r.file, r.line), errors);
  if (errors.length > 0) return { file, apex, errors };
  const table = yield* builder.finish();
  errors.push(...(yield* checkZone(file, builder, table)));
  if (errors.length > 0) return { file, apex, errors };
  return { file, apex, errors, zone: new Zone(table) };
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
  private running: Promise<ReloadReport> | undefined;
  private queued: Promise<ReloadReport> | undefined;

  constructor(readonly dir: string) {}

  get zoneSet(): ZoneSet {
    return this.current;
  }

  /** Called after every reload that may have changed what we serve (caches of encoded answers drop their entries). */
  onChange(listener: (zones: ZoneSet) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Re-reads every zone file; resolves when the new zones serve. While a reload runs, another request
   * is queued behind it (the files may have changed after it read them); requests made meanwhile share
   * that queued run.
   */
  reload(): Promise<ReloadReport> {
    if (!this.running) return this.start();
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<ReloadReport> {
    const run = this.load().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async load(): Promise<ReloadReport> {
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
      const file = join(this.dir, f);
      const result = await loadZoneFilePaced(file, this.dir).catch(
        // A bug, not bad content (that is in `errors`): keep the zone's last good version, as for errors.
        (err: unknown): ZoneLoadResult => ({ file, apex: apexOfFile(file), errors: [new ConfigError({ file }, `load failed: ${String(err)}`)] }),
      );
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
      this.debounce = setTimeout(() => void this.reload(), debounceMs);
    });
    this.watcher.on('error', (err) => log.warn('zone folder watch failed; SIGHUP still reloads', { error: String(err) }));
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
