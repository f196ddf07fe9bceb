/**
 * `dnscdn chaos` starts its deployment whole or fails at once, saying why. It supervises the roles with restarts
 * (a killed edge comes back), but a role that exits before everything is ready is not restarted: a taken port
 * fails the same way on every retry, and restarting it used to keep the run waiting, silently, for minutes.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { ROOT } from './up-deployment.js';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

describe('dnscdn chaos start-up', () => {
  it('exits 1 naming the edge whose port is taken, without restarting it', async () => {
    const [dns, origin, london, tokyo] = privateLoopbacks(4) as [string, string, string, string];
    const dnsPort = await freePortOn(dns);
    const edgePort = await freePortOn(london);
    const originPort = await freePortOn(origin);
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-chaos-start-'));
    const file = join(dir, 'chaos.yaml');
    writeFileSync(
      file,
      `dns:
  listen: [${dns}:${dnsPort}]
  zones: ${join(ROOT, 'zones')}
edgeDefaults:
  port: ${edgePort}
  origin: { servers: ["http://${origin}:${originPort}"] }
edges:
  london: { addresses: [${london}], location: { lat: 51.507, lon: -0.128 } }
  tokyo: { addresses: [${tokyo}], location: { lat: 35.690, lon: 139.692 } }
pools:
  www.cdn.test: { policy: geo-nearest, edges: [london, tokyo], ttl: 1 }
origin:
  listen: ${origin}:${originPort}
  content: ${join(ROOT, 'content')}
distribution:
  journal: ${join(dir, 'journal')}
admin:
  tokens: [chaos-start-token]
`,
    );
    // Someone else's server on london's public port.
    const squatter = createServer();
    squatter.listen(edgePort, london);
    await once(squatter, 'listening');
    try {
      const exit = await new Promise<Exit>((resolve) => {
        // 60 s is far beyond a failed start (a few seconds: origin, then the edges) and far below the minutes the
        // run used to wait while restarting the edge; a kill by this timeout shows as signal SIGTERM.
        const child = execFile(process.execPath, [join(ROOT, 'bin/dnscdn.js'), 'chaos', '--config', file, '--duration', '30s'], { cwd: dir, env: { ...process.env, DNSCDN_LOG: 'warn' }, timeout: 60_000 }, (_err, _stdout, stderr) =>
          resolve({ code: child.exitCode, signal: child.signalCode, stderr }),
        );
      });
      expect(exit.signal, exit.stderr).toBeNull();
      expect(exit.code, exit.stderr).toBe(1);
      expect(exit.stderr).toMatch(/the deployment did not start: edge london \(pid \d+\) exited with code 1 before it was ready/);
      expect(exit.stderr).toContain('EADDRINUSE');
      expect(exit.stderr).toContain(`${london}:${edgePort}`);
    } finally {
      squatter.close();
    }
  }, 90_000);
});
