/**
 * `dnscdn check [--config FILE] [-v]`, like `nginx -t` or `knotc conf-check`: one line per problem
 * (`file:line: key: reason`) and exit 1, or silence and exit 0 (a summary line with -v).
 */
import { Command } from 'commander';
import type { ConfigError } from '../errors.js';
import { deploymentFileOrEmbedded } from '../cli/config-path.js';
import { checkDeploymentFile, shown, type CheckReport } from './deployment-check.js';

/** `file:line: key: reason`, the file relative to the working directory when it lies below it. */
export function formatProblem(e: ConfigError, cwd: string = process.cwd()): string {
  const file = shown(e.position.file, cwd);
  const parts = [e.position.line === undefined ? file : `${file}:${e.position.line}`];
  if (e.position.key !== undefined) parts.push(e.position.key);
  parts.push(e.reason);
  return parts.join(': ');
}

export function formatSummary(r: CheckReport, cwd: string = process.cwd()): string {
  const c = r.checked;
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${shown(r.file, cwd)}: ok (${plural(c.zones, 'zone file')}, ${plural(c.edges, 'edge')}, ${plural(c.pools, 'pool')}${c.origin ? ', origin content' : ''})`;
}

/** Prints the problems on stderr; true when there were none. Shared by `check` and `up`. */
export function reportCheck(r: CheckReport): boolean {
  for (const p of r.problems) process.stderr.write(`${formatProblem(p)}\n`);
  return r.problems.length === 0;
}

export function checkCommand(): Command {
  return new Command('check')
    .description('validate a deployment: the file, its zone files, root hints, content folder and listener clashes (exit 1 on any problem)')
    .option('--config <file>', 'deployment file (default: ./dnscdn.yaml if present, else the shipped demo file)')
    .option('-v, --verbose', 'print a summary line when all is well')
    .action((o: { config?: string; verbose?: boolean }) => {
      const report = checkDeploymentFile(deploymentFileOrEmbedded(o.config));
      if (!reportCheck(report)) {
        process.exitCode = 1;
        return;
      }
      if (o.verbose === true) process.stdout.write(`${formatSummary(report)}\n`);
    });
}
