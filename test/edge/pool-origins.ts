/**
 * Origin servers for pool tests: each answers every path with its own name (body and `x-server`), counts what it
 * got, and can be told to fail (a status), to hold answers (least-connections), or be closed (connection refused).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NamedOrigin {
  readonly name: string;
  readonly url: string;
  /** Requests received, in order: `METHOD path`. */
  readonly seen: string[];
  /** Cookie headers received (sticky cookies must not arrive). */
  readonly cookies: Array<string | undefined>;
  /** Answer with this status from now on (default 200). */
  status: number;
  /** While set, answers wait for `release()`. */
  hold: boolean;
  release(): void;
  close(): Promise<void>;
}

export async function startNamedOrigin(name: string, host = '127.0.0.1', port = 0): Promise<NamedOrigin> {
  const held: Array<() => void> = [];
  const origin: NamedOrigin = {
    name,
    url: '',
    seen: [],
    cookies: [],
    status: 200,
    hold: false,
    release: () => held.splice(0).forEach((f) => f()),
    close: async () => {
      origin.release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer((req, res) => {
    origin.seen.push(`${req.method} ${req.url}`);
    origin.cookies.push(req.headers.cookie);
    const answer = (): void => {
      const body = `${name}\n`;
      res.writeHead(origin.status, { 'x-server': name, 'content-length': String(body.length), 'cache-control': 'no-store' });
      res.end(body);
    };
    req.resume();
    if (origin.hold) held.push(answer);
    else answer();
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  const a = server.address() as AddressInfo;
  (origin as { url: string }).url = `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
  return origin;
}

export function startNamedOrigins(names: string[]): Promise<NamedOrigin[]> {
  return Promise.all(names.map((n) => startNamedOrigin(n)));
}
