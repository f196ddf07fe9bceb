/**
 * The chaos run's pushes and purges, at random intervals through the origin's admin API, as an operator's would
 * arrive: pushes of content paths, purges by tag and by prefix. Each one the origin acknowledged (200) must be
 * on every edge at the end (purges lost = 0); the others are counted by reason, since a refusal while the origin
 * is down is expected and a 400 is the run's own mistake.
 */
import { originAdminUrl } from '../config/reach.js';
import type { Deployment } from '../config/types.js';
import { request } from '../http/client.js';
import type { Random } from '../random.js';
import type { ChaosReport } from './report.js';

export type ChaosOperation = { kind: 'push'; body: { paths: [string] } } | { kind: 'purge'; body: { target: string } };

/** Paths of the shipped content/ (push reads the file), and purge targets in the admin API's forms (`tag:NAME`, `/prefix*`). */
const PUSHED_PATHS = ['/index.html', '/css/site.css', '/img/logo.svg'] as const;
const PURGE_TARGETS = ['tag:images', '/css/*'] as const;

/** 60 % pushes, 40 % purges. */
export function nextOperation(random: Random): ChaosOperation {
  if (random() < 0.6) return { kind: 'push', body: { paths: [PUSHED_PATHS[Math.floor(random() * PUSHED_PATHS.length)]!] } };
  return { kind: 'purge', body: { target: PURGE_TARGETS[Math.floor(random() * PURGE_TARGETS.length)]! } };
}

/** Starts the operations; the returned function stops them (one already sent still counts when it returns). */
export function startOperations(d: Deployment, token: string, random: Random, meanIntervalMs: number, counts: ChaosReport['operations']): () => void {
  const base = originAdminUrl(d);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const failed = (reason: string): void => {
    counts.failed++;
    counts.failedBy[reason] = (counts.failedBy[reason] ?? 0) + 1;
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = (): void => {
    timer = setTimeout(() => {
      const op = nextOperation(random);
      void request(`${base}/.dnscdn/${op.kind}`, { method: 'POST', headers, body: JSON.stringify(op.body), timeoutMs: 5000 }).then(
        (res) => {
          if (res.status === 200) counts[op.kind === 'push' ? 'pushes' : 'purges']++;
          else failed(`status ${res.status}`);
        },
        (err: NodeJS.ErrnoException) => failed(err.code ?? err.message),
      );
      if (!stopped) next();
    }, meanIntervalMs * (0.5 + random()));
  };
  next();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
