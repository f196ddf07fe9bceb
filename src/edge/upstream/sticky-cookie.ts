/**
 * The sticky cookie of an origin pool (HAProxy's `cookie SERVERID insert`, nginx's `sticky cookie`): its value
 * is the id of the origin server that answered, from the file or an HMAC of the server's URL (config/origin-pool.ts
 * `serverIdFor`), never the address.
 * It is read from the client's Cookie header and always taken out of the headers sent to the origin: it is the
 * edge's routing state, not the application's, and leaving it out keeps origins from depending on it.
 */
import type { HeaderMap } from '../headers.js';

/** The value of cookie `name` in a Cookie header, and the header without it (undefined when nothing is left). */
export function takeCookie(cookie: string | string[] | undefined, name: string): { value: string | undefined; rest: string | undefined } {
  if (cookie === undefined) return { value: undefined, rest: undefined };
  const text = Array.isArray(cookie) ? cookie.join('; ') : cookie;
  let value: string | undefined;
  const kept: string[] = [];
  for (const part of text.split(';')) {
    const pair = part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq) === name) value = pair.slice(eq + 1);
    else kept.push(pair);
  }
  return { value, rest: kept.length > 0 ? kept.join('; ') : undefined };
}

/** `headers` without the sticky cookie (a copy only when it was there). */
export function withoutCookie(headers: HeaderMap, rest: string | undefined): HeaderMap {
  const out: HeaderMap = { ...headers };
  if (rest === undefined) delete out.cookie;
  else out.cookie = rest;
  return out;
}

/**
 * Session cookie (no Max-Age): the pin lasts as long as the browser session, as HAProxy's insert does. HttpOnly:
 * scripts have no use for it. SameSite=Lax: sent on top-level navigation, which is where sessions continue.
 */
export function stickySetCookie(name: string, serverId: string): string {
  return `${name}=${serverId}; Path=/; HttpOnly; SameSite=Lax`;
}
