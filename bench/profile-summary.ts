/**
 * Prints the functions with the most self time in a V8 CPU profile (`node --cpu-prof`), to see where a
 * server under load spends its time without opening DevTools:
 *
 *   node dist-bench/bench/profile-summary.js bench/results/tmp/CPU.*.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
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

/** Self time per function (all nodes of one function merged), largest first. */
export function selfTimes(profile: CpuProfile): FunctionTime[] {
  const hits = new Map<number, number>();
  if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const total = [...hits.values()].reduce((s, v) => s + v, 0) || 1;
  const byFunction = new Map<string, FunctionTime>();
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    if (count === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : `${url.startsWith('file://') ? relative(process.cwd(), new URL(url).pathname) : url}:${lineNumber + 1}`;
    const name = functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, percent: 0 };
    entry.percent += (100 * count) / total;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()].sort((a, b) => b.percent - a.percent);
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const top = Number(process.argv[3] ?? 25);
  for (const f of selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile).slice(0, top)) {
    console.log(`${f.percent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
}
