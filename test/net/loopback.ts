/**
 * Addresses for tests that start processes which must know each other's ports before any of them listens (a
 * deployment file, Knot's config): those cannot bind port 0 and read it back. Each such test takes loopback
 * addresses of its own, at random in 127.200.0.0-127.254.255.255 (above the 127.100-199 range that
 * test/http/blocked-ports.ts uses), so a port found free there is raced only by the test itself, not by other
 * test files or by other checkouts running the suite on this machine. Outgoing connections take their source
 * port on 127.0.0.1, so they never land on these addresses either.
 */
import { createServer } from 'node:net';

export function privateLoopback(): string {
  const byte = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));
  return `127.${byte(200, 254)}.${byte(0, 255)}.${byte(1, 254)}`;
}

/** `count` distinct private loopback addresses. */
export function privateLoopbacks(count: number): string[] {
  const hosts = new Set<string>();
  while (hosts.size < count) hosts.add(privateLoopback());
  return [...hosts];
}

/**
 * A TCP port free on `host` now (the kernel's pick). Only for a private loopback address: on a shared one,
 * another test may take the port before the process that needs it binds it.
 */
export function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A URL where nothing listens, for "connection refused" cases: a fresh private address has no listener at all. */
export function refusingUrl(): string {
  return `http://${privateLoopback()}:9`;
}
