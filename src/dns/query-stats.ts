/**
 * Per-query visibility kept as plain numbers (the PipelineStats pattern): queries by transport and
 * question type, and the time from receiving a query to having its reply, as histogram buckets. The
 * pipeline bumps these once per query; metrics.ts turns them into Prometheus samples at scrape time,
 * so a query never pays for a label lookup or a prom-client call.
 */

/**
 * Question types counted one by one; every other type (and a query without a readable question) is
 * OTHER. A fixed small table keeps the label set bounded whatever clients send (a qtype label with
 * 65536 possible values would let any client grow the scrape).
 */
export const COUNTED_QTYPES: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  DS: 43,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
};
export const QTYPE_LABELS: readonly string[] = [...Object.keys(COUNTED_QTYPES), 'OTHER'];
const OTHER_SLOT = QTYPE_LABELS.length - 1;

/** qtype number -> slot in QTYPE_LABELS: one array read per query (64 KiB, once per process). */
const SLOT_BY_QTYPE = new Uint8Array(0x10000).fill(OTHER_SLOT);
for (const [slot, label] of QTYPE_LABELS.entries()) if (label !== 'OTHER') SLOT_BY_QTYPE[COUNTED_QTYPES[label]!] = slot;

/**
 * Upper bounds of the latency buckets, in seconds. CoreDNS uses 0.25 ms × 2^n; ours start lower because
 * a fast-path hit takes about 10 µs in-process, so a first bucket of 0.25 ms would hide every change
 * there. The top (5 s) is about where a stub resolver gives up and retries.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type Transport = 'udp' | 'tcp';

export class QueryStats {
  /** Queries by [transport][qtype slot]: `udp` first, then `tcp`. */
  readonly byQtype: number[] = new Array<number>(2 * QTYPE_LABELS.length).fill(0);
  /** Non-cumulative count per bucket of LATENCY_BUCKETS, plus one past the last (+Inf). */
  readonly latencyBuckets: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  latencySum = 0;
  latencyCount = 0;

  /** One query done: its transport, its qtype (-1: no readable question) and how long it took, in seconds. */
  record(transport: Transport, qtype: number, seconds: number): void {
    const slot = qtype < 0 ? OTHER_SLOT : SLOT_BY_QTYPE[qtype]!;
    this.byQtype[(transport === 'udp' ? 0 : QTYPE_LABELS.length) + slot]!++;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket++;
    this.latencyBuckets[bucket]!++;
    this.latencySum += seconds;
    this.latencyCount++;
  }

  /** Queries of `transport` whose qtype falls in `label`'s slot. */
  queries(transport: Transport, label: string): number {
    const slot = QTYPE_LABELS.indexOf(label);
    return slot < 0 ? 0 : this.byQtype[(transport === 'udp' ? 0 : QTYPE_LABELS.length) + slot]!;
  }
}

/**
 * The qtype of a query's first question, read from its bytes without decoding (-1: none readable).
 * Names in a question are never compressed in practice; a pointer there ends the walk as unreadable.
 */
export function questionType(bytes: Buffer): number {
  if (bytes.length < 12 || bytes.readUInt16BE(4) === 0) return -1;
  let at = 12;
  while (at < bytes.length) {
    const len = bytes[at]!;
    if (len === 0) return at + 3 <= bytes.length ? bytes.readUInt16BE(at + 1) : -1;
    if (len > 63) return -1;
    at += len + 1;
  }
  return -1;
}
