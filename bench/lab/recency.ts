/**
 * Recency-family prototypes: LRU (the baseline, checked against the edge store's), SIEVE (Zhang et al.,
 * NSDI'24: a FIFO with a visited bit and a moving hand) and ARC (Megiddo and Modha, FAST'03), ARC generalised
 * to sizes by counting its four lists and its target `p` in bytes.
 */
import { IdLists } from './id-list.js';
import type { SimContext, SimPolicy } from './sim-policy.js';

export function lru(ctx: SimContext): SimPolicy {
  const lists = new IdLists(ctx.ids, 1);
  return {
    get used() {
      return lists.bytes[0]!;
    },
    access(id, size) {
      if (lists.owner[id] === 0) {
        lists.remove(id, size);
        lists.pushHead(0, id, size);
        return true;
      }
      if (size > ctx.maxObject) return false;
      lists.pushHead(0, id, size);
      while (lists.bytes[0]! > ctx.capacity) {
        const victim = lists.tailOf(0);
        lists.remove(victim, sizeOf(ctx, victim));
      }
      return false;
    },
  };
}

export function sieve(ctx: SimContext): SimPolicy {
  const lists = new IdLists(ctx.ids, 1);
  const visited = new Uint8Array(ctx.ids);
  let hand = -1;
  return {
    get used() {
      return lists.bytes[0]!;
    },
    access(id, size) {
      if (lists.owner[id] === 0) {
        visited[id] = 1;
        return true;
      }
      if (size > ctx.maxObject) return false;
      while (lists.bytes[0]! + size > ctx.capacity) {
        let victim = hand >= 0 ? hand : lists.tailOf(0);
        while (visited[victim] === 1) {
          visited[victim] = 0;
          victim = lists.towardsHead(victim);
          if (victim < 0) victim = lists.tailOf(0);
        }
        hand = lists.towardsHead(victim);
        lists.remove(victim, sizeOf(ctx, victim));
      }
      lists.pushHead(0, id, size);
      visited[id] = 0;
      return false;
    },
  };
}

const T1 = 0;
const T2 = 1;
const B1 = 2;
const B2 = 3;

export function arc(ctx: SimContext): SimPolicy {
  const c = ctx.capacity;
  const lists = new IdLists(ctx.ids, 4);
  let p = 0;
  const b = lists.bytes;
  const replace = (size: number, inB2: boolean): void => {
    while (b[T1]! + b[T2]! + size > c) {
      const fromT1 = b[T1]! > 0 && (b[T1]! > p || (inB2 && b[T1]! >= p) || b[T2]! === 0);
      const victim = lists.tailOf(fromT1 ? T1 : T2);
      const vs = sizeOf(ctx, victim);
      lists.remove(victim, vs);
      lists.pushHead(fromT1 ? B1 : B2, victim, vs);
    }
  };
  const trimGhosts = (): void => {
    while (b[T1]! + b[B1]! > c && b[B1]! > 0) {
      const g = lists.tailOf(B1);
      lists.remove(g, sizeOf(ctx, g));
    }
    while (b[T1]! + b[T2]! + b[B1]! + b[B2]! > 2 * c && b[B2]! > 0) {
      const g = lists.tailOf(B2);
      lists.remove(g, sizeOf(ctx, g));
    }
  };
  return {
    get used() {
      return b[T1]! + b[T2]!;
    },
    access(id, size) {
      const where = lists.owner[id]!;
      if (where === T1 || where === T2) {
        lists.remove(id, size);
        lists.pushHead(T2, id, size);
        return true;
      }
      if (size > ctx.maxObject) return false;
      if (where === B1) {
        p = Math.min(c, p + Math.max(size, (b[B2]! / Math.max(1, b[B1]!)) * size));
        lists.remove(id, size);
        replace(size, false);
        lists.pushHead(T2, id, size);
      } else if (where === B2) {
        p = Math.max(0, p - Math.max(size, (b[B1]! / Math.max(1, b[B2]!)) * size));
        lists.remove(id, size);
        replace(size, true);
        lists.pushHead(T2, id, size);
      } else {
        replace(size, false);
        lists.pushHead(T1, id, size);
      }
      trimGhosts();
      return false;
    },
  };
}

export function sizeOf(ctx: SimContext, id: number): number {
  return ctx.sizes[id]!;
}
