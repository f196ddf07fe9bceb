/**
 * Session resumption by tickets on the edge, with rotated ticket keys: a client resumes with the ticket it was
 * given, and after the key has rotated twice (the previous key is kept for one period, tls/ticket-keys.ts) the
 * old ticket no longer resumes (a full handshake instead). That a ticket survives one rotation is tested with the
 * rotation driven by hand in ticket-keys.test.ts (a timer here could not say how many rotations passed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type EdgeServer } from '../../../src/edge/server.js';
import { startOrigin, type TestOrigin } from '../harness.js';
import { startPki, type TestPki } from './certs.js';
import { connectWithTicket, type TicketedConnection } from './ticket-client.js';

let pki: TestPki;
let origin: TestOrigin;
let edge: EdgeServer;
let port: number;
const ROTATION_MS = 400;

beforeAll(async () => {
  pki = await startPki();
  const files = await pki.issue('www', ['www.cdn.test']);
  origin = await startOrigin();
  edge = await startEdge({ listen: '127.0.0.1:0', origin: origin.url, maxBytes: 1 << 20, tls: { listen: '127.0.0.1:0', certificates: [files], ticketKeyRotationMs: ROTATION_MS } });
  port = Number(new URL(edge.httpsUrl!).port);
});

afterAll(async () => {
  await edge?.close();
  await origin?.close();
  pki?.remove();
});

/** Connects to the edge's HTTPS port (offering `session` if given). */
function connect(session?: Buffer): Promise<TicketedConnection> {
  return connectWithTicket(`https://127.0.0.1:${port}/`, pki.ca.certPem, session);
}

describe('session tickets', () => {
  it('resume with a fresh ticket, and not with one from before two key rotations', async () => {
    const first = await connect();
    expect(first.reused).toBe(false);
    expect(first.ticket).toBeDefined();
    expect((await connect(first.ticket)).reused).toBe(true);
    await new Promise((r) => setTimeout(r, ROTATION_MS * 2.5));
    expect((await connect(first.ticket)).reused).toBe(false);
  });
});
