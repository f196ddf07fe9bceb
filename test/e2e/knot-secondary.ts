/**
 * Knot DNS (`knotd`, Debian package `knot`) as a real secondary of cdn.test for the transfer tests: one
 * config writer and one start/stop, so the plain and the TSIG-keyed transfer tests drive the same Knot.
 * It listens on `host:port` (a private loopback address of the test's own, test/net/loopback.ts, since
 * Knot's port is written into its config before it starts), pulls cdn.test from our server at
 * 127.0.0.1:`primaryPort`, and accepts our NOTIFY from 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KnotOptions {
  /** A folder of its own (created): config, zone storage and its log. */
  dir: string;
  host: string;
  port: number;
  primaryPort: number;
  /** With a key, Knot signs its transfers with it and requires it on our NOTIFY; absent: no TSIG. */
  key?: { name: string; secret: string };
}

export interface KnotSecondary {
  readonly host: string;
  readonly port: number;
  /** Knot's stderr, appended as it comes. */
  readonly logFile: string;
  log(): string;
  stop(): Promise<void>;
}

export function knotConfig(o: KnotOptions): string {
  const keyRef = o.key ? [`    key: ${o.key.name}`] : [];
  return [
    'server:',
    `    rundir: "${o.dir}"`,
    `    listen: ${o.host}@${o.port}`,
    'log:',
    '  - target: stderr',
    '    any: info',
    ...(o.key ? ['key:', `  - id: ${o.key.name}`, '    algorithm: hmac-sha256', `    secret: ${o.key.secret}`] : []),
    'database:',
    `    storage: "${o.dir}"`,
    'remote:',
    '  - id: dnscdn',
    `    address: 127.0.0.1@${o.primaryPort}`,
    ...keyRef,
    'acl:',
    '  - id: notify_from_dnscdn',
    '    address: 127.0.0.1',
    ...keyRef,
    '    action: notify',
    'template:',
    '  - id: default',
    `    storage: "${o.dir}"`,
    'zone:',
    '  - domain: cdn.test',
    '    master: dnscdn',
    '    acl: notify_from_dnscdn',
    '',
  ].join('\n');
}

export function startKnotSecondary(o: KnotOptions): KnotSecondary {
  mkdirSync(o.dir, { recursive: true });
  const conf = join(o.dir, 'knot.conf');
  writeFileSync(conf, knotConfig(o));
  const logFile = join(o.dir, 'knotd.log');
  const knot: ChildProcess = spawn('knotd', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  knot.stderr!.on('data', (chunk: Buffer) => writeFileSync(logFile, chunk, { flag: 'a' }));
  return {
    host: o.host,
    port: o.port,
    logFile,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop: async () => {
      if (knot.exitCode !== null || knot.signalCode !== null) return;
      const exited = new Promise((resolve) => knot.once('exit', resolve));
      knot.kill('SIGTERM');
      await exited;
    },
  };
}
