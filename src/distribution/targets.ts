import type { DownstreamTarget } from './edge-link.js';

/** `--edge NAME=URL` (or a bare URL, named after its host and port). */
export function parseDownstream(text: string): DownstreamTarget {
  const i = text.indexOf('=');
  const [name, url] = i > 0 && !text.slice(0, i).includes('/') ? [text.slice(0, i), text.slice(i + 1)] : [undefined, text];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`bad edge "${text}": expected NAME=http://host:port`);
  }
  if (parsed.protocol !== 'http:') throw new Error(`bad edge "${text}": only http:// is supported`);
  return { name: name ?? parsed.host, url: parsed.origin };
}

/** The admin token: from the option, else DNSCDN_ADMIN_TOKEN (what the edge and the config use), else DNSCDN_TOKEN. Never printed. */
export function tokenFrom(option: string | undefined): string | undefined {
  const t = option ?? process.env.DNSCDN_ADMIN_TOKEN ?? process.env.DNSCDN_TOKEN;
  return t === undefined || t === '' ? undefined : t;
}
