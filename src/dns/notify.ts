/**
 * NOTIFY (RFC 1996) to our secondaries when a zone's serial changes, so they transfer it at once
 * instead of waiting for their refresh timer. Sent over UDP, retried a few times until the secondary
 * answers with the same id (§3.6); a secondary that stays silent is logged and left to its refresh
 * timer, never retried forever.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { logger } from '../log.js';
import { formatHostPort, type HostPort } from '../net/address.js';
import { signMessage, type TsigKey } from './tsig.js';
import type { ResourceRecord } from './types.js';
import { decodeMessage, encodeMessage } from './wire.js';

const log = logger('dns.notify');

export interface NotifyOptions {
  attempts?: number;
  timeoutMs?: number;
  /** Sign the NOTIFY with this key (RFC 8945 §5.1), as secondaries configured with it require. */
  tsig?: TsigKey;
}

/** Sends one NOTIFY for `apex` (with its SOA in the answer section, §3.7) to `target`; true once acknowledged. */
export async function notifySecondary(target: HostPort, apex: string, soa: ResourceRecord, options: NotifyOptions = {}): Promise<boolean> {
  const attempts = options.attempts ?? 3;
  const timeoutMs = options.timeoutMs ?? 1000;
  const id = randomInt(0x10000);
  const unsigned = encodeMessage({
    id,
    opcode: 'NOTIFY',
    rcode: 0,
    flags: { qr: false, aa: true, tc: false, rd: false, ra: false, ad: false, cd: false },
    questions: [{ name: apex, type: 'SOA', class: 'IN' }],
    answers: [soa],
    authorities: [],
    additionals: [],
  });
  const bytes = options.tsig ? signMessage(unsigned, options.tsig, Math.floor(Date.now() / 1000)) : unsigned;
  const socket = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
  socket.on('error', () => undefined); // ICMP unreachable: counts as no answer
  try {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const acked = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), timeoutMs);
        const onMessage = (msg: Buffer): void => {
          const d = decodeMessage(msg);
          if (d.kind === 'message' && d.message.id === id && d.message.flags.qr && d.message.opcode === 'NOTIFY') done(true);
        };
        function done(ok: boolean): void {
          clearTimeout(timer);
          socket.off('message', onMessage);
          resolve(ok);
        }
        socket.on('message', onMessage);
        socket.send(bytes, target.port, target.host);
      });
      if (acked) return true;
    }
    log.warn('secondary did not acknowledge NOTIFY', { zone: apex, secondary: formatHostPort(target), attempts });
    return false;
  } finally {
    socket.close();
  }
}
