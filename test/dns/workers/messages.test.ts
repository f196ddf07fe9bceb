/** The DNS workers' IPC messages (src/dns/workers/messages.ts) and prom-client's, which share the channel. */
import { describe, expect, it } from 'vitest';
import { isPrimaryMessage, isWorkerMessage } from '../../../src/dns/workers/messages.js';

describe('worker and primary messages', () => {
  it.each<[unknown, boolean, boolean]>([
    [{ kind: 'dnscdn:dns:hello' }, true, false],
    [{ kind: 'dnscdn:dns:ready', listening: [] }, true, false],
    [{ kind: 'dnscdn:dns:health', edges: [] }, false, true],
    [{ kind: 'dnscdn:dns:reload' }, false, true],
    [{ type: 'prom-client:getMetricsReq', requestId: 1 }, false, false],
    [{ kind: 42 }, false, false],
    ['dnscdn:dns:hello', false, false],
    [null, false, false],
  ])('%j: from a worker %s, from the primary %s', (message, fromWorker, fromPrimary) => {
    expect(isWorkerMessage(message)).toBe(fromWorker);
    expect(isPrimaryMessage(message)).toBe(fromPrimary);
  });
});
