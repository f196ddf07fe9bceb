/**
 * Prints the functions with the most self time in a V8 CPU profile (`node --cpu-prof`), to see where a
 * server under load spends its time without opening DevTools:
 *
 *   node dist-bench/bench/profile-summary.js bench/results/tmp/CPU.*.cpuprofile [top=25] [self|total]
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { resultsDir } from './report.js';

/** A `node ...` command line with the CPU profiler on, writing into bench/results/tmp (git-ignored). */
export function profiledArgv(argv: readonly string[]): string[] {
  return [argv[0]!, '--cpu-prof', '--cpu-prof-interval', '250', `--cpu-prof-dir=${join(resultsDir(), 'tmp')}`, ...argv.slice(1)];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  percent: number;
}

function sampleCounts(profile: CpuProfile): Map<number, number> {
  const hits = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  return hits;
}

function describe(node: ProfileNode): { key: string; name: string; where: string } {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : `${url.startsWith('file://') ? relative(process.cwd(), new URL(url).pathname) : url}:${lineNumber + 1}`;
  const name = functionName || '(anonymous)';
  return { key: `${name} ${where}`, name, where };
}

/**
 * Time per function, largest first: `self` counts samples in the function itself; `total` also counts
 * its callees (a recursive function is counted once per sample).
 */
export function functionTimes(profile: CpuProfile, mode: 'self' | 'total' = 'self'): FunctionTime[] {
  const hits = sampleCounts(profile);
  const total = [...hits.values()].reduce((s, v) => s + v, 0) || 1;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, FunctionTime>();
  const add = (node: ProfileNode, count: number): void => {
    if (count === 0) return;
    const d = describe(node);
    const entry = byFunction.get(d.key) ?? { name: d.name, where: d.where, percent: 0 };
    entry.percent += (100 * count) / total;
    byFunction.set(d.key, entry);
  };
  if (mode === 'self') {
    for (const node of profile.nodes) add(node, hits.get(node.id) ?? 0);
  } else {
    // Subtree sample counts, then each function credited once per path (not again inside itself).
    const subtree = new Map<number, number>();
    const count = (node: ProfileNode): number => {
      let sum = hits.get(node.id) ?? 0;
      for (const c of node.children ?? []) sum += count(byId.get(c)!);
      subtree.set(node.id, sum);
      return sum;
    };
    const root = profile.nodes[0];
    if (root) count(root);
    const onStack = new Map<string, number>();
    const walk = (node: ProfileNode): void => {
      const { key } = describe(node);
      const depth = onStack.get(key) ?? 0;
      if (depth === 0) add(node, subtree.get(node.id) ?? 0);
      onStack.set(key, depth + 1);
      for (const c of node.children ?? []) walk(byId.get(c)!);
      onStack.set(key, depth);
    };
    if (root) walk(root);
  }
  return [...byFunction.values()].sort((a, b) => b.percent - a.percent);
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile-summary <file.cpuprofile> [top] [self|total]');
  const top = Number(process.argv[3] ?? 25);
  const mode = process.argv[4] === 'total' ? 'total' : 'self';
  for (const f of functionTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, mode).slice(0, top)) {
    console.log(`${f.percent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
}
