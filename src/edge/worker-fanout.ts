/**
 * The edge primary's questions to its workers (worker-messages.ts): one message to each worker asked, gathered
 * answers once every one of them has answered or exited, or `timeoutMs` has passed. The bound is there for a
 * worker that is stuck (stopped, looping): it must not hold a push acknowledgement or a purge answer forever;
 * such a worker is logged, and worker liveness (not this module) is what ends it.
 */
import type { Worker } from 'node:cluster';
import type { FollowerSink } from '../distribution/follower.js';
import { logger } from '../log.js';
import type { RelayedOp, WorkerAnswer, WorkerQuestion } from './worker-messages.js';

const log = logger('edge');

type Question = WorkerQuestion extends infer Q ? (Q extends { id: number } ? Omit<Q, 'id'> : never) : never;

interface Pending {
  waiting: Set<Worker>;
  answers: WorkerAnswer[];
  timer: NodeJS.Timeout;
  done: (answers: WorkerAnswer[]) => void;
}

export class WorkerFanout {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  /** Sends `question` to every connected worker of `workers`; resolves with their answers. */
  ask(workers: Iterable<Worker>, question: Question): Promise<WorkerAnswer[]> {
    const id = this.nextId++;
    const asked = [...workers].filter((w) => w.isConnected());
    return new Promise((resolve) => {
      if (asked.length === 0) return resolve([]);
      const timer = setTimeout(() => {
        log.warn('edge workers did not answer in time; going on without them', { question: question.type, workers: [...(this.pending.get(id)?.waiting ?? [])].map((w) => w.id).join(','), timeoutMs: this.timeoutMs });
        this.finish(id);
      }, this.timeoutMs);
      this.pending.set(id, { waiting: new Set(asked), answers: [], timer, done: resolve });
      const message = { ...question, id } as WorkerQuestion;
      for (const w of asked) w.send(message);
    });
  }

  /** A worker's answer arrived. */
  answered(worker: Worker, answer: WorkerAnswer): void {
    const p = this.pending.get(answer.id);
    if (!p || !p.waiting.delete(worker)) return;
    p.answers.push(answer);
    if (p.waiting.size === 0) this.finish(answer.id);
  }

  /** A worker exited: nothing more is awaited from it. */
  gone(worker: Worker): void {
    for (const [id, p] of this.pending) if (p.waiting.delete(worker) && p.waiting.size === 0) this.finish(id);
  }

  private finish(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.done(p.answers);
  }
}

/**
 * The replica's sink at an edge primary: each applied operation goes to the workers, and `settled()` waits until
 * they all applied it, so the follower acknowledges a push only once every worker serves it (a HIT at the first
 * request, whichever worker node:cluster hands the connection to).
 */
export function workersSink(relay: (r: RelayedOp) => Promise<unknown>, maxObjectBytes: number): FollowerSink {
  let inFlight: Array<Promise<unknown>> = [];
  const send = (r: RelayedOp): void => void inFlight.push(relay(r));
  return {
    accepts: (op) => op.length <= maxObjectBytes,
    maxBodyBytes: maxObjectBytes,
    put: (op, body) => send({ kind: 'put', op, body }),
    purge: (op) => send({ kind: 'purge', op }),
    clear: () => send({ kind: 'clear' }),
    async settled() {
      const waiting = inFlight;
      inFlight = [];
      await Promise.all(waiting);
    },
  };
}
