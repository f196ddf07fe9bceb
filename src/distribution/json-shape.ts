/** Checks on parsed JSON (answers from other processes, journal records read back from disk). */

/** A sequence number, time, count or length: a whole number >= 0 that a double holds exactly. */
export const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
