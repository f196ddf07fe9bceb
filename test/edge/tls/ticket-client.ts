/**
 * A TLS client for the session-ticket tests: connects to an HTTPS URL of the edge (offering `session` if given),
 * sends one request and resolves with whether the handshake resumed and the first ticket it was given.
 */
import tls from 'node:tls';

export interface TicketedConnection {
  reused: boolean;
  ticket: Buffer | undefined;
}

export function connectWithTicket(url: string, ca: string, session?: Buffer): Promise<TicketedConnection> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let reused = false;
    const s = tls.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), servername: 'www.cdn.test', ca, ...(session ? { session } : {}) }, () => {
      reused = s.isSessionReused();
      // TLS 1.3 sends tickets after the handshake, before any answer: one request, and the server closes.
      s.write('GET /healthz HTTP/1.1\r\nHost: www.cdn.test\r\nConnection: close\r\n\r\n');
    });
    s.on('session', (t: Buffer) => (ticket ??= t));
    s.resume();
    s.on('close', () => resolve({ reused, ticket }));
    s.on('error', reject);
  });
}
