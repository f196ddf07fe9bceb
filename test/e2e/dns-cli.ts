/**
 * `dnscdn dns` as a child process on 127.0.0.1:0 (the built CLI): resolves with the port it bound, read from its
 * "dns server started" log line, and everything it logged until then (for assertions on start-up lines).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface DnsCli {
  child: ChildProcess;
  port: number;
  /** stderr up to and including the start-up line. */
  startLog: string;
}

export async function startDnsCli(args: string[]): Promise<DnsCli> {
  const child = spawn(process.execPath, ['bin/dnscdn.js', 'dns', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, DNSCDN_LOG: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let seen = '';
  for (;;) {
    const [chunk] = (await once(child.stderr!, 'data')) as [Buffer];
    seen += chunk.toString();
    const m = /dns server started listen=127\.0\.0\.1:(\d+)/.exec(seen);
    if (m) return { child, port: Number(m[1]), startLog: seen };
  }
}
