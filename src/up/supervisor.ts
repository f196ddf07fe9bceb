/**
 * Runs role processes as children: output prefixed with the role's label, readiness reported by each child
 * over IPC once its listeners are bound, exits reported, restarts with exponential backoff only when asked
 * (so that a killed edge stays down and failover can be seen), and a clean stop: SIGTERM to every child,
 * SIGKILL to any still there after a grace period.
 *
 * Start-up is all or nothing: `whenReady()` resolves 'ready' once every child has reported, or 'failed' with
 * the first child that exited before that (its exit and its last stderr lines), unless restarts were asked for
 * (and not only once ready).
 * Children exit by themselves when this process dies, since their IPC channel closes (see child.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { logger } from '../log.js';
import { parseChildMessage, SUPERVISED_ENV, SUPERVISED_VALUE } from './messages.js';
import type { RoleProcess } from './plan.js';

const log = logger('up');

export interface SupervisorOptions {
  /** Command and leading arguments that run `dnscdn` (node + bin/dnscdn.js). */
  command: string;
  commandArgs: string[];
  restart: boolean;
  /**
   * With `restart`: a child that exits before every role is ready still fails the start, as without it, and
   * restarts begin once the deployment is up. For a run that must start whole or say why (`dnscdn chaos`): a
   * taken port or a missing file fails the same way on every retry, so retrying it only hides the error.
   */
  restartOnlyOnceReady?: boolean;
  /** Extra environment for the children (the admin token travels here, never in argv). */
  env: Record<string, string>;
  /** Where children's output lines go (prefixed). */
  write: (line: string) => void;
  /** First restart delay; doubles per quick consecutive exit up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  stopGraceMs?: number;
}

/** How start-up ended. */
export type StartOutcome =
  | { kind: 'ready' }
  | { kind: 'failed'; label: string; pid: number | undefined; how: string; stderr: string[] }
  | { kind: 'timeout'; waitingFor: string[] };

interface Running {
  spec: RoleProcess;
  child?: ChildProcess;
  startedAt: number;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  /** What the current child reported it listens on; undefined until it is ready. */
  listening?: string[];
  /** Last stderr lines of the current child, for the failure report. */
  stderr: string[];
}

/** A child that ran this long before exiting starts its backoff over. */
const STABLE_MS = 10_000;
/** Stderr lines kept per child for a start-up failure report: enough for an error and its cause. */
const STDERR_TAIL_LINES = 10;

export class Supervisor {
  private readonly running: Running[];
  private stopping = false;
  private started = false;
  /** The first child that ended before everything was ready (without --restart): start-up has failed. */
  private startFailure: Extract<StartOutcome, { kind: 'failed' }> | undefined;
  private settle: ((outcome: StartOutcome) => void) | undefined;

  constructor(
    specs: RoleProcess[],
    private readonly options: SupervisorOptions,
  ) {
    this.running = specs.map((spec) => ({ spec, startedAt: 0, failures: 0, stderr: [] }));
  }

  /** Starts the first wave; each later wave starts when the one before it is ready. */
  start(): void {
    this.startWave(0);
  }

  private startWave(wave: number): void {
    for (const r of this.running) if (r.spec.wave === wave && !r.child) this.spawn(r);
  }

  /** Resolves once every child is ready, or at the first start-up failure, or after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<StartOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish({ kind: 'timeout', waitingFor: this.running.filter((r) => r.child && !r.listening).map((r) => r.spec.label) }), timeoutMs);
      const finish = (outcome: StartOutcome): void => {
        clearTimeout(timer);
        this.settle = undefined;
        if (outcome.kind === 'ready') this.started = true;
        resolve(outcome);
      };
      this.settle = finish;
      if (this.startFailure) finish(this.startFailure);
      else this.checkReady();
    });
  }

  /** Each role's running pid and what it reported it listens on (undefined until it is ready). */
  pids(): Array<{ process: RoleProcess; pid: number | undefined; listening: string[] | undefined }> {
    return this.running.map((r) => ({ process: r.spec, pid: r.child?.exitCode === null ? r.child.pid : undefined, listening: r.listening }));
  }

  private spawn(r: Running): void {
    const child = spawn(this.options.command, [...this.options.commandArgs, ...r.spec.args], {
      env: { ...process.env, ...this.options.env, [SUPERVISED_ENV]: SUPERVISED_VALUE },
      // The IPC channel carries "ready", and its closing tells the child that we are gone.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    r.child = child;
    r.startedAt = Date.now();
    r.listening = undefined;
    r.stderr = [];
    createInterface({ input: child.stdout! }).on('line', (line) => this.options.write(`[${r.spec.label}] ${line}`));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      r.stderr.push(line);
      if (r.stderr.length > STDERR_TAIL_LINES) r.stderr.shift();
      this.options.write(`[${r.spec.label}] ${line}`);
    });
    child.on('message', (m) => {
      const message = parseChildMessage(m);
      if (!message || r.child !== child) return;
      r.listening = message.listening;
      log.debug('child ready', { process: r.spec.label, pid: child.pid, listening: message.listening.join(' ') });
      if (this.started) this.options.write(`[up] ${r.spec.label} (pid ${child.pid}) is ready again`);
      this.checkReady();
    });
    child.on('error', (err) => this.options.write(`[up] ${r.spec.label} could not start: ${err.message}`));
    // 'close' rather than 'exit': by then every stderr line has been read, so a failure report has them all.
    child.on('close', (code, signal) => this.exited(r, child, code, signal));
  }

  private checkReady(): void {
    for (const wave of [...new Set(this.running.map((r) => r.spec.wave))].sort()) {
      const members = this.running.filter((r) => r.spec.wave === wave);
      if (members.some((r) => !r.child)) {
        // This wave has not started yet: it does once every earlier role is ready (and never after a stop).
        if (!this.stopping && this.running.every((r) => r.spec.wave >= wave || r.listening !== undefined)) this.startWave(wave);
        break;
      }
    }
    if (this.settle && this.running.every((r) => r.listening !== undefined)) this.settle({ kind: 'ready' });
  }

  private exited(r: Running, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (r.child !== child || this.stopping) return;
    r.listening = undefined;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!this.started && (!this.options.restart || this.options.restartOnlyOnceReady === true)) {
      this.startFailure ??= { kind: 'failed', label: r.spec.label, pid: child.pid, how, stderr: [...r.stderr] };
      this.settle?.(this.startFailure);
      return;
    }
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
