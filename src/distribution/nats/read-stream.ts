/**
 * Reading a whole stream once, in order: an ordered consumer from the first message it holds up to the last one
 * it had when the read began. Used for the per-path state (state.ts) and by body garbage collection (body-gc.ts).
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsLink } from './connect.js';

/** A read that stalls this long (a server died under it) is abandoned; the caller starts over. */
const READ_STALL_MS = 15_000;

export async function readStream(link: NatsLink, stream: string, take: (m: JsMsg) => void): Promise<void> {
  const { jsm, js } = link;
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return;
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume({ max_messages: 512 });
  const end = info.state.last_seq;
  let stalled = false;
  const timer = setTimeout(() => {
    stalled = true;
    messages.close().catch(() => undefined);
  }, READ_STALL_MS);
  try {
    for await (const m of messages) {
      take(m);
      if (m.seq >= end || m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close().catch(() => undefined);
  }
  if (stalled) throw new Error(`reading ${stream} stalled after ${READ_STALL_MS} ms`);
}
