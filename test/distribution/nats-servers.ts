/**
 * Three `nats-server -js` processes clustered on loopback (each on a private loopback address of its own, ports
 * found free there), with temporary store directories: started for a test file, stopped (by pid) and removed at
 * its end. `kill(i)` is a SIGKILL of one server; `restart(i)` brings it back on the same ports and store.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'net';
import { freePortOn, privateLoopbacks } from '../net/loopback.js';
import { tempDir } from '../origin/helpers.js';

export function natsServerAvailable(): boolean {
  return spawnSync('nats-server', ['--version']).status === 0;
}

interface Member {
  host: string;
  port: number;
  clusterPort: number;
  dir: string;
  proc?: ChildProcess;
  log: string;
}

export class NatsCluster {
  private constructor(
    private readonly base: string,
    readonly members: Member[],
  ) {}

  /** `host:port` of every server, for `distribution.nats.servers`. */
  get servers(): string[] {
    return this.members.map((m) => `${m.host}:${m.port}`);
  }

  static async start(size = 3): Promise<NatsCluster> {
    const base = await tempDir('nats');
    const hosts = privateLoopbacks(size);
    const members: Member[] = [];
    for (const [i, host] of hosts.entries()) members.push({ host, port: await freePortOn(host), clusterPort: await freePortOn(host), dir: join(base, `n${i}`), log: '' });
    const c = new NatsCluster(base, members);
    for (let i = 0; i < size; i++) await c.writeConfig(i);
    for (let i = 0; i < size; i++) c.spawn(i);
    await Promise.all(members.map((_, i) => c.ready(i)));
    // JetStream answers only once the cluster has elected its metadata leader.
    const deadline = Date.now() + 20_000;
    while (!members.some((m) => /new JetStream cluster metadata leader|JetStream cluster new metadata leader/.test(m.log))) {
      if (Date.now() > deadline) throw new Error(`no JetStream metadata leader: ${members.map((m) => m.log).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return c;
  }

  private async writeConfig(i: number): Promise<void> {
    const m = this.members[i]!;
    const routes = this.members.filter((_, j) => j !== i).map((o) => `nats-route://${o.host}:${o.clusterPort}`);
    const conf = [
      `server_name: n${i}`,
      `listen: ${m.host}:${m.port}`,
      `jetstream { store_dir: "${m.dir}" }`,
      `cluster { name: dnscdn-test, listen: ${m.host}:${m.clusterPort}, routes: [${routes.join(', ')}] }`,
    ].join('\n');
    await writeFile(join(this.base, `n${i}.conf`), conf);
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    m.log = '';
    const proc = spawn('nats-server', ['-c', join(this.base, `n${i}.conf`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => void (m.log = (m.log + b.toString()).slice(-8000));
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    m.proc = proc;
  }

  /** Accepts client connections and has JetStream up (its log says so). */
  private async ready(i: number): Promise<void> {
    const m = this.members[i]!;
    const deadline = Date.now() + 15_000;
    while (!(m.log.includes('Server is ready') && (await accepts(m.host, m.port)))) {
      if (m.proc?.exitCode !== null && m.proc?.exitCode !== undefined) throw new Error(`nats-server n${i} exited: ${m.log}`);
      if (Date.now() > deadline) throw new Error(`nats-server n${i} not ready: ${m.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(i: number): Promise<void> {
    const p = this.members[i]!.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async restart(i: number): Promise<void> {
    this.spawn(i);
    await this.ready(i);
  }

  async stop(): Promise<void> {
    for (const m of this.members) if (m.proc && m.proc.exitCode === null && m.proc.signalCode === null) { const exited = new Promise((r) => m.proc!.once("exit", r)); m.proc.kill("SIGTERM"); await exited; }
    await rm(this.base, { recursive: true, force: true });
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
