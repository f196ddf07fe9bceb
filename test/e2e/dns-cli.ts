/**
 * `dnscdn dns` as a child process (the built CLI):
 *   - `startDnsCli`: on 127.0.0.1:0, resolves with the port it bound, read from its "dns server started" log
 *     line, and everything it logged until then (for assertions on start-up lines);
 *   - `startDnsFromFile`: with `--config`, resolves with the DNS port and admin URL from its first stdout
 *     line, and a reader of all its stderr (the query log, the log lines at info);
 *   - `queryLogLines`: the query-log lines of that stderr as key=value records.
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

export interface DnsFromFile {
  child: ChildProcess;
  port: number;
  /** The addresses of its start-up line, as printed (`127.0.0.1:5353 [::1]:5353`). */
  listening: string;
  /** http(s)://host:port of the admin listener, when there is one. */
  admin: string | undefined;
  /** Everything written to stderr so far. */
  stderr: () => string;
}

/** `env` is added to this process's environment (and DNSCDN_LOG=info). */
export async function startDnsFromFile(file: string, args: string[], env: Record<string, string> = {}): Promise<DnsFromFile> {
  const child = spawn(process.execPath, ['bin/dnscdn.js', 'dns', '--config', file, ...args], { env: { ...process.env, DNSCDN_LOG: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`dnscdn dns exited with ${String(code)}: ${stderr}`);
  });
  let seen = '';
  for (;;) {
    const [chunk] = (await Promise.race([once(child.stdout!, 'data'), exited])) as [Buffer];
    seen += chunk.toString();
    // "dns listening on 127.0.0.1:5353 [::1]:5353, metrics http://127.0.0.1:9153/metrics"
    const line = /dns listening on (.*)\n/.exec(seen)?.[1];
    if (line !== undefined) {
      exited.catch(() => undefined); // a later exit is the test's business
      const port = Number(/^\S*:(\d+)/.exec(line)![1]);
      return { child, port, listening: line.replace(/, metrics .*$/, ''), admin: /, metrics (https?:\/\/\S+)\/metrics$/.exec(line)?.[1], stderr: () => stderr };
    }
  }
}

/** The query-log lines in `stderr`, as key=value records (values unquoted). */
export function queryLogLines(stderr: string): Record<string, string>[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes(' QUERY dns.query:'))
    .map((l) => Object.fromEntries([...l.matchAll(/ (\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)].map(([, k, v]) => [k!, v!.startsWith('"') ? (JSON.parse(v!) as string) : v!])));
}
