/**
 * The narrow view a delivery has of a body that is still arriving (a shared fetch, shared-fetch.ts): it
 * subscribes a sink, is told when the sink's socket drains, and unsubscribes when the client goes away. It
 * cannot see or change the fetch's state.
 */

/** Where a body source writes the body for one client. */
export interface BodySink {
  /** Takes the chunk; false means the client is slow: call `resume(sink)` when it drains. */
  write(b: Buffer): boolean;
  end(): void;
  fail(err: Error): void;
}

export interface BodySource {
  /**
   * Sends the body from its first byte (replayed if some already went by) to the sink, then ends or fails it.
   * Returns false when that is no longer possible (the body was not kept and has started to flow): the caller
   * answers this client otherwise.
   */
  subscribe(sink: BodySink): boolean;
  /** The client's socket drained: send it what it missed, or let a paused body flow again. */
  resume(sink: BodySink): void;
  /** The client went away: stop writing to it; the body carries on for the others. */
  unsubscribe(sink: BodySink): void;
}
