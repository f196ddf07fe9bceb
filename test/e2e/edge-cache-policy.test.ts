/** `dnscdn edge --cache-policy`: a real process; the policy shows in /metrics (curl), a bad name stops it with a clear error. */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('dnscdn edge --cache-policy', () => {
  it('runs the chosen policy and names it in /metrics', async () => {
    const edge = spawn(process.execPath, ['bin/dnscdn.js', 'edge', '--listen', '127.0.0.1:0', '--origin', 'http://127.0.0.1:9', '--cache-policy', 's3-fifo', '--name', 'e2e-policy'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(edge.stdout!, 'data')) as [Buffer];
      const base = /admin (http:\/\/\S+),/.exec(line.toString())![1]!;
      const { stdout } = await run('curl', ['-s', `${base}/metrics`]);
      expect(stdout).toContain('dnscdn_edge_cache_policy_info{policy="s3-fifo",role="edge",edge="e2e-policy"} 1');
    } finally {
      edge.kill('SIGTERM');
    }
  });

  it('refuses an unknown policy, naming the valid ones', async () => {
    const failed = await run(process.execPath, ['bin/dnscdn.js', 'edge', '--listen', '127.0.0.1:0', '--origin', 'http://127.0.0.1:9', '--cache-policy', 'lfu']).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('unknown cache policy "lfu" (one of lru, w-tinylfu, s3-fifo)');
  });
});
