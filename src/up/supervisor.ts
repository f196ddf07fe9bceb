/**
 * Runs role processes as children: output prefixed with the role's label, exits reported, restarts
 * with exponential backoff only when asked (so that a killed edge stays down and failover can be seen),
 * and a clean stop: SIGTERM to every child, SIGKILL to any still there after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { logger } from '../log.js';
import type { RoleProcess } from './plan.js';

const log = logger('up');

export interface SupervisorOptions {
  /** Command and leading arguments that run `dnscdn` (node + bin/dnscdn.js). */
  command: string;
  commandArgs: string[];
  restart: boolean;
  /** Extra environment for the children (the admin token travels here, never in argv). */
  env: Record<string, string>;
  /** Where children's output lines go (prefixed). */
  write: (line: string) => void;
  /** First restart delay; doubles per quick consecutive exit up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  stopGraceMs?: number;
}

interface Running {
  spec: RoleProcess;
  child?: ChildProcess;
  startedAt: number;
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

/** A child that ran this long before exiting starts its backoff over. */
const STABLE_MS = 10_000;

export class Supervisor {
  private readonly running: Running[];
  private stopping = false;

  constructor(
    specs: RoleProcess[],
    private readonly options: SupervisorOptions,
  ) {
    this.running = specs.map((spec) => ({ spec, startedAt: 0, failures: 0 }));
  }

  start(): void {
    for (const r of this.running) this.spawn(r);
  }

  pids(): Array<{ process: RoleProcess; pid: number | undefined }> {
    return this.running.map((r) => ({ process: r.spec, pid: r.child?.exitCode === null ? r.child.pid : undefined }));
  }

  private spawn(r: Running): void {
    const child = spawn(this.options.command, [...this.options.commandArgs, ...r.spec.args], {
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.child = child;
    r.startedAt = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.options.write(`[${r.spec.label}] ${line}`));
    }
    child.on('error', (err) => this.options.write(`[up] ${r.spec.label} could not start: ${err.message}`));
    child.on('exit', (code, signal) => this.exited(r, child, code, signal));
  }

  private exited(r: Running, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (r.child !== child || this.stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!this.options.restart) {
      this.options.write(`[up] ${r.spec.label} (pid ${child.pid}) exited with ${how}; not restarting (start with --restart to restart)`);
      return;
    }
    r.failures = Date.now() - r.startedAt > STABLE_MS ? 1 : r.failures + 1;
    const base = this.options.backoffMs ?? 500;
    const delay = Math.min(this.options.maxBackoffMs ?? 30_000, base * 2 ** (r.failures - 1));
    this.options.write(`[up] ${r.spec.label} (pid ${child.pid}) exited with ${how}; restarting in ${delay} ms`);
    r.restartTimer = setTimeout(() => {
      r.restartTimer = undefined;
      if (this.stopping) return;
      this.spawn(r);
      this.options.write(`[up] ${r.spec.label} restarted as pid ${r.child?.pid}`);
    }, delay);
  }

  /** SIGTERM to all children; SIGKILL after the grace period to any that did not exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    const waits: Array<Promise<void>> = [];
    for (const r of this.running) {
      if (r.restartTimer) clearTimeout(r.restartTimer);
      const child = r.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      waits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => {
            log.warn('child did not stop in time; killing it', { process: r.spec.label, pid: child.pid });
            child.kill('SIGKILL');
          }, this.options.stopGraceMs ?? 5000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(waits);
  }
}
