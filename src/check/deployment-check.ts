/**
 * `dnscdn check`: everything a start would refuse, found before anything starts, with the loaders each role
 * uses (no second validator): the deployment file (src/config/load.ts, listener clashes included), every zone
 * file in the zones folder (src/dns/zone/catalog.ts), the root hints, the content folder and the geo databases.
 * Each problem names its file, line and key; the file's own problems are all listed, not only the first.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkDeployment, type DeploymentSections } from '../config/load.js';
import type { Deployment } from '../config/types.js';
import { ConfigError, type SourcePosition } from '../errors.js';
import { loadRootHints } from '../dns/resolver/hints.js';
import { loadZoneFile } from '../dns/zone/catalog.js';

export interface CheckReport {
  file: string;
  problems: ConfigError[];
  /** The validated deployment, when the file itself has no problem (the folders it names may still have). */
  deployment?: Deployment;
  /** What was checked, for `check -v`: counts of zones, edges, pools. */
  checked: { zones: number; edges: number; pools: number; origin: boolean };
}

const ZONE_SUFFIX = '.zone';

export function checkDeploymentFile(file: string, env: Record<string, string | undefined> = process.env): CheckReport {
  const { sections, problems: found } = checkDeployment(file, { env });
  // In file order, as an editor walks them (the loader finds them section by section).
  const problems = [...found].sort((a, b) => (a.position.line ?? 0) - (b.position.line ?? 0));
  const zones = sections.dns ? checkZones(sections, problems) : 0;
  if (sections.dns?.recursion?.rootHints !== undefined) checkRootHints(sections.dns.recursion.rootHints, sections.at('dns.recursion.rootHints'), problems);
  if (sections.origin) checkFolder(sections.origin.content, sections.at('origin.content'), 'content folder', problems);
  for (const db of sections.geo?.databases ?? []) checkFile(db, sections.at('geo.databases'), 'geo database', problems);
  checkEdgeCertificates(sections, problems);
  const report: CheckReport = { file: sections.file, problems, checked: { zones, edges: sections.edges.length, pools: sections.deployment?.pools.length ?? 0, origin: sections.origin !== undefined } };
  if (sections.deployment) report.deployment = sections.deployment;
  return report;
}

/** Loads every zone file as the DNS role does at start; returns how many zone files there are. */
function checkZones(sections: DeploymentSections, problems: ConfigError[]): number {
  const dir = sections.dns!.zones;
  const at = sections.at('dns.zones');
  if (!checkFolder(dir, at, 'zones folder', problems)) return 0;
  const files = readdirSync(dir).filter((f) => f.endsWith(ZONE_SUFFIX) && f.length > ZONE_SUFFIX.length);
  for (const f of files.sort()) problems.push(...loadZoneFile(join(dir, f), dir).errors);
  return files.length;
}

/**
 * The PEM files of edges' HTTPS listeners (`edgeDefaults.tls`, `edges.NAME.tls`): each must exist, as the edge
 * refuses to start without it. Named once even when every edge shares the defaults' files. Their contents are
 * read by the edge (tls/served-certificates.ts); a demo CA or ACME folder is made at start, so not checked here.
 */
function checkEdgeCertificates(sections: DeploymentSections, problems: ConfigError[]): void {
  const seen = new Set<string>();
  for (const e of sections.edges) {
    if (!e.tls) continue;
    const own = sections.at(`edges.${e.name}.tls`);
    const at = own.line !== undefined ? own : sections.at('edgeDefaults.tls');
    const files: Array<[string, string]> = [...e.tls.certificates, ...(e.tls.default ? [e.tls.default] : [])].flatMap((c) => [
      [c.cert, 'certificate'],
      [c.key, 'certificate key'],
    ]);
    if (e.tls.acme?.caFile !== undefined) files.push([e.tls.acme.caFile, 'ACME CA file']);
    for (const [path, what] of files) {
      if (seen.has(path)) continue;
      seen.add(path);
      checkFile(path, at, what, problems);
    }
  }
}

function checkRootHints(file: string, at: SourcePosition, problems: ConfigError[]): void {
  if (!checkFile(file, at, 'root hints file', problems)) return;
  try {
    loadRootHints(file);
  } catch (err) {
    problems.push(err instanceof ConfigError ? err : new ConfigError({ file }, String(err)));
  }
}

function checkFolder(path: string, at: SourcePosition, what: string, problems: ConfigError[]): boolean {
  const kind = kindOf(path);
  if (kind === 'dir') return true;
  problems.push(new ConfigError(at, kind === 'missing' ? `${what} ${shown(path)} does not exist` : `${what} ${shown(path)} is not a folder`));
  return false;
}

function checkFile(path: string, at: SourcePosition, what: string, problems: ConfigError[]): boolean {
  const kind = kindOf(path);
  if (kind === 'file') return true;
  problems.push(new ConfigError(at, kind === 'missing' ? `${what} ${shown(path)} does not exist` : `${what} ${shown(path)} is not a file`));
  return false;
}

/** A path as the operator would type it: relative to the working directory when it lies below it. */
export function shown(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
}

function kindOf(path: string): 'file' | 'dir' | 'missing' | 'other' {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) return 'missing';
  return info.isDirectory() ? 'dir' : info.isFile() ? 'file' : 'other';
}
