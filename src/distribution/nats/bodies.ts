/**
 * Reading a body from the Object Store bucket. The client's own `get` reads the chunks through an ordered push
 * consumer with 30 s heartbeats: when a NATS server dies and the bucket's stream leader moves, such a read
 * stalls for up to 30 s (seen in test/push/nats-processes.test.ts). The bucket is created with direct get
 * (`allow_direct`), so every replica answers a direct get by subject: the chunks of an object are the
 * messages on `$O.<bucket>.C.<nuid>` (the Object Store layout, NATS ADR-20), read one after another here.
 */
import type { ObjectStore } from '@nats-io/obj';
import type { NatsLink } from './connect.js';

export async function readBody(link: NatsLink, bodies: ObjectStore, sha256: string): Promise<Buffer | undefined> {
  const info = await bodies.info(sha256);
  if (info === null || info.deleted) return undefined;
  if (info.size === 0) return Buffer.alloc(0);
  const bucket = link.names.bodies;
  const subject = `$O.${bucket}.C.${info.nuid}`;
  const parts: Uint8Array[] = [];
  let next = 1;
  for (let i = 0; i < info.chunks; i++) {
    const m = await link.jsm.direct.getMessage(`OBJ_${bucket}`, { seq: next, next_by_subj: subject });
    if (m === null) return undefined;
    parts.push(m.data);
    next = m.seq + 1;
  }
  return Buffer.concat(parts);
}
