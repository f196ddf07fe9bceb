/**
 * W-TinyLFU with a fixed window share and exact counts (no sketch error), to sweep the one knob the store's
 * hill climber moves: window LRU -> admission by requests per byte against probation's tail -> SLRU main
 * (80 % protected). Counts are halved every 10 x the cache's object count in requests (Caffeine's reset
 * period). With the window at 100 % it is LRU; the climber can only choose among these shares over time.
 */
import { IdLists } from './id-list.js';
import type { SimContext, SimPolicy } from './sim-policy.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;

export function tinyLfu(windowShare: number): (ctx: SimContext) => SimPolicy {
  return (ctx) => {
    const lists = new IdLists(ctx.ids, 3);
    const b = lists.bytes;
    const windowMax = windowShare * ctx.capacity;
    const mainMax = ctx.capacity - windowMax;
    const protectedMax = 0.8 * mainMax;
    const count = new Float64Array(ctx.ids);
    const period = Math.max(64, Math.round(10 * (ctx.capacity / ctx.meanSize)));
    let sinceReset = 0;
    const size = (id: number): number => ctx.sizes[id]!;
    const drop = (id: number): void => lists.remove(id, size(id));
    const admit = (candidate: number): void => {
      while (b[PROBATION]! + b[PROTECTED]! + size(candidate) > mainMax) {
        const victim = lists.tailOf(PROBATION) >= 0 ? lists.tailOf(PROBATION) : lists.tailOf(PROTECTED);
        if (victim < 0) break;
        if (count[candidate]! / size(candidate) <= count[victim]! / size(victim)) {
          drop(candidate);
          return;
        }
        drop(victim);
      }
      if (b[PROBATION]! + b[PROTECTED]! + size(candidate) > mainMax) {
        drop(candidate);
        return;
      }
      lists.remove(candidate, size(candidate));
      lists.pushHead(PROBATION, candidate, size(candidate));
    };
    return {
      get used() {
        return b[WINDOW]! + b[PROBATION]! + b[PROTECTED]!;
      },
      access(id, s) {
        count[id]!++;
        if (++sinceReset >= period) {
          sinceReset = 0;
          for (let i = 0; i < count.length; i++) count[i] = Math.floor(count[i]! / 2);
        }
        const where = lists.owner[id]!;
        if (where >= 0) {
          lists.remove(id, s);
          lists.pushHead(where === WINDOW ? WINDOW : PROTECTED, id, s);
          while (b[PROTECTED]! > protectedMax) {
            const demoted = lists.tailOf(PROTECTED);
            lists.remove(demoted, size(demoted));
            lists.pushHead(PROBATION, demoted, size(demoted));
          }
          return true;
        }
        if (s > ctx.maxObject) return false;
        lists.pushHead(WINDOW, id, s);
        while (b[WINDOW]! > windowMax) admit(lists.tailOf(WINDOW));
        return false;
      },
    };
  };
}
