/**
 * One HTTP health probe: `GET <path>` to one address, success on a 2xx status within the timeout.
 * A fresh connection each time (no keep-alive agent): a probe must see a dead listener, not a pooled socket.
 */
import { request } from 'node:http';
import { formatHostPort } from '../net/address.js';

export interface ProbeTarget {
  host: string;
  port: number;
  path: string;
}

export type ProbeResult = { ok: true; status: number } | { ok: false; reason: string };

export function probeHttp(target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request({
      host: target.host,
      port: target.port,
      path: target.path,
      method: 'GET',
      agent: false,
      headers: { host: formatHostPort(target), 'user-agent': 'dnscdn-health' },
    });
    const timer = setTimeout(() => finish({ ok: false, reason: `timeout after ${timeoutMs}ms` }), timeoutMs);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, reason: `status ${status}` });
    });
    req.on('error', (err) => finish({ ok: false, reason: err.message }));
    req.end();
  });
}
