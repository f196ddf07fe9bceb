/**
 * Running the zone loader's generators. Parsing and building yield once per entry or every few
 * names; `runSteps` runs them straight through (tests, root hints), `runStepsPaced` gives the event
 * loop a turn every `sliceMs`, so a large zone loads while queries for every zone keep being answered
 * (issue 10 item 8: a 1M-record reload used to freeze the server for ~15 s).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export type Steps<T> = Generator<void, T, undefined>;

export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Checking the clock costs ~30 ns, a step ~1 µs: looking every 64 steps keeps the overhead small and
 * the slices close to `sliceMs`.
 */
const STEPS_PER_CLOCK_CHECK = 64;

export async function runStepsPaced<T>(steps: Steps<T>, sliceMs: number): Promise<T> {
  let sliceStart = performance.now();
  for (let n = 1; ; n++) {
    const step = steps.next();
    if (step.done) return step.value;
    if (n % STEPS_PER_CLOCK_CHECK === 0 && performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}
