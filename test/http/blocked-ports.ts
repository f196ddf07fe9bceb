import { createServer, type Server } from 'node:net';

/**
 * Ports that the WHATWG Fetch standard ("bad port" list) makes `fetch` refuse: the links between roles must
 * work on them all the same. Each test takes its own random 127.x.y.z address so that several test files
 * (and other engineers' runs on this machine) can hold port 6000 at once.
 */
export const FETCH_BLOCKED_PORTS = [6000, 6665, 6666, 6667, 6668, 6669, 10080] as const;

/** A loopback address, not 127.0.0.1, on which `port` is free now. */
export async function loopbackWithFreePort(port: number): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const host = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
    if (await canListen(host, port)) return host;
  }
  throw new Error(`no loopback address with port ${port} free`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Server = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}
