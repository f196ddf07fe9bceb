/**
 * TicketKeys (src/edge/tls/ticket-keys.ts) on a real TLS server over loopback, the rotation driven by hand: a
 * ticket issued just before a rotation still resumes after it and the client is given a ticket under the new
 * key; a ticket from before two rotations does not resume; one TicketKeys serves two servers alike.
 */
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TicketKeys } from '../../../src/edge/tls/ticket-keys.js';
import { startPki, type TestPki } from './certs.js';
import { readFileSync } from 'node:fs';

let pki: TestPki;
let servers: tls.Server[] = [];
let keys: TicketKeys;

beforeAll(async () => {
  pki = await startPki();
  const files = await pki.issue('www', ['www.cdn.test']);
  keys = new TicketKeys();
  for (let i = 0; i < 2; i++) {
    const server = tls.createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (s) => s.end('ok'));
    expect(keys.attach(server)).toBe(true);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  pki?.remove();
});

/** Connects to server `i` (offering `session`); whether it resumed, and the first ticket it was given, if any. */
function connect(i: number, session?: Buffer): Promise<{ reused: boolean; ticket: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const port = (servers[i]!.address() as { port: number }).port;
    let ticket: Buffer | undefined;
    let reused = false;
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'www.cdn.test', ca: pki.ca.certPem, ...(session ? { session } : {}) }, () => {
      reused = s.isSessionReused();
    });
    s.on('session', (t: Buffer) => (ticket ??= t));
    s.resume();
    s.on('close', () => resolve({ reused, ticket }));
    s.on('error', reject);
  });
}

describe('session ticket keys', () => {
  it('a ticket from just before a rotation resumes after it, and its renewal survives the next rotation', async () => {
    const before = await connect(0);
    expect(before.reused).toBe(false);
    keys.rotate();
    const after = await connect(0, before.ticket!);
    expect(after.reused).toBe(true);
    // Accepted under the previous key, the session is renewed: a ticket under the current key.
    expect(after.ticket).toBeDefined();
    keys.rotate();
    // The old ticket's key is now two rotations old; the renewed one was issued under the key now previous.
    expect((await connect(0, before.ticket!)).reused).toBe(false);
    expect((await connect(0, after.ticket!)).reused).toBe(true);
  });

  it('the servers sharing the keys resume each other\'s tickets, across a rotation too', async () => {
    const first = await connect(0);
    expect((await connect(1, first.ticket!)).reused).toBe(true);
    keys.rotate();
    expect((await connect(1, first.ticket!)).reused).toBe(true);
  });
});
