/**
 * The HTTP client for links between roles: the push/purge/status CLI, origin -> distribution node,
 * distribution node -> edge batches and status, and edge catch-up. Built on `node:http` rather than
 * `fetch` because undici's `fetch` refuses the WHATWG "bad ports" (6000, 6665-6669, 10080, ...) with a
 * bare "fetch failed", and an operator may well put an admin listener there.
 *
 * Contract:
 * - the whole exchange (connect, headers, body) has one deadline, `timeoutMs`;
 * - a response body is read into memory up to `maxBodyBytes`, never more (a peer cannot make us buffer
 *   without bound); beyond it the request fails;
 * - every failure is a LinkError whose message names the method and URL tried and the cause
 *   (`ECONNREFUSED`, `timed out after 2000 ms`, `response body over 1048576 bytes`);
 * - connections are kept alive per scheme in one shared agent; an idle pooled socket the server closed
 *   under us (ECONNRESET on a reused socket) is retried once for idempotent requests only;
 * - https links trust the deployment's CA (link-tls.ts, `tls.ca`), else Node's public CAs, and send SNI; an
 *   untrusted or misnamed certificate fails with a LinkError saying so (`certificate not trusted (...)`).
 * Any status is a response, not an error: callers decide what a 401 or a 503 means.
 */
import http from 'node:http';
import https from 'node:https';
import { BodyCutShortError, BodyTooLargeError, readBounded } from './body.js';
import { linkCa, linkTrustGeneration, tlsFailureReason } from './link-tls.js';

export interface LinkRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Deadline for the whole exchange (default 10 s). */
  timeoutMs?: number;
  /** Largest response body accepted (default 1 MiB, enough for every JSON answer between roles). */
  maxBodyBytes?: number;
}

export interface LinkResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON; a LinkError naming the URL if it is not JSON. */
  json(): unknown;
}

/** A link to another role failed before a complete response arrived. */
export class LinkError extends Error {
  constructor(
    /** `GET http://127.0.0.1:6000/.dnscdn/status` */
    readonly target: string,
    /** A short cause: an errno code (ECONNREFUSED, ECONNRESET, EHOSTUNREACH ...), `timeout`, `too-large`, `bad-json`. */
    readonly code: string,
    detail: string,
  ) {
    super(`${target}: ${detail}`);
    this.name = 'LinkError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

// Node's http server closes idle keep-alive connections after 5 s; freeing ours after 4 s keeps us from
// picking a socket the server is closing (the reused-socket retry below covers the remaining race).
const agentOptions: http.AgentOptions = { keepAlive: true, timeout: 4000, maxSockets: 64, maxFreeSockets: 16 };
const httpAgent = new http.Agent(agentOptions);
let httpsAgent: { agent: https.Agent; generation: number } | undefined;

/** The https agent for the current trust (link-tls.ts); remade, and the old one's sockets dropped, when it changes. */
function agentFor(protocol: 'http:' | 'https:'): http.Agent {
  if (protocol === 'http:') return httpAgent;
  const generation = linkTrustGeneration();
  if (httpsAgent?.generation !== generation) {
    httpsAgent?.agent.destroy();
    const ca = linkCa();
    httpsAgent = { agent: new https.Agent({ ...agentOptions, ...(ca ? { ca } : {}) }), generation };
  }
  return httpsAgent.agent;
}

export async function request(url: string | URL, init: LinkRequest = {}): Promise<LinkResponse> {
  const target = new URL(url);
  const method = init.method ?? 'GET';
  const label = `${method} ${target.href}`;
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new LinkError(label, 'bad-url', `unsupported scheme ${target.protocol} (use http:// or https://)`);
  try {
    return await exchange(target, method, init, label);
  } catch (err) {
    const retry = err instanceof ReusedSocketReset && (method === 'GET' || method === 'HEAD');
    if (!retry) throw err instanceof ReusedSocketReset ? err.cause : err;
    return exchange(target, method, init, label);
  }
}

/** Marks a reset on a pooled socket, which says nothing about the peer's health. */
class ReusedSocketReset extends Error {
  constructor(override readonly cause: LinkError) {
    super(cause.message);
  }
}

function exchange(target: URL, method: string, init: LinkRequest, label: string): Promise<LinkResponse> {
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      reject(err);
    };
    const req = transport.request(target, { method, headers, agent: agentFor(target.protocol as 'http:' | 'https:') });
    const deadline = setTimeout(() => {
      const err = new LinkError(label, 'timeout', `timed out after ${timeoutMs} ms`);
      fail(err);
      req.destroy(err);
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof LinkError) return fail(err);
      const code = err.code ?? 'error';
      const detail = tlsFailureReason(err.code, err.message) ?? (code === err.message || err.message.includes(code) ? err.message : `${code} (${err.message})`);
      const linkError = new LinkError(label, code, detail);
      fail(req.reusedSocket && code === 'ECONNRESET' ? new ReusedSocketReset(linkError) : linkError);
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        req.destroy();
        return fail(new LinkError(label, 'too-large', `response body of ${declared} bytes is over the ${maxBodyBytes}-byte limit`));
      }
      readBounded(res, maxBodyBytes).then(
        (received) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve(linkResponse(label, res.statusCode ?? 0, res.headers, received));
        },
        (err: unknown) => {
          if (err instanceof BodyTooLargeError) return fail(new LinkError(label, 'too-large', `response body over the ${maxBodyBytes}-byte limit`));
          const code = err instanceof BodyCutShortError ? err.code : 'error';
          fail(new LinkError(label, code, `response cut short: ${err instanceof Error ? err.message : String(err)}`));
        },
      );
    });
    req.end(body);
  });
}

function linkResponse(label: string, status: number, headers: http.IncomingHttpHeaders, body: Buffer): LinkResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: () => {
      try {
        return JSON.parse(body.toString('utf8')) as unknown;
      } catch (err) {
        throw new LinkError(label, 'bad-json', `answered ${status} with a body that is not JSON: ${(err as Error).message}`);
      }
    },
  };
}
