/**
 * A hostile origin on a raw node:net socket: it records the exact bytes each connection carries and frames
 * requests itself, strictly by RFC 9112 §6 (Transfer-Encoding: chunked, else Content-Length, else no body), as a
 * real server behind a keep-alive pool would. So a request that announces a body it does not send swallows the
 * start of the next request, exactly as on a real origin. Each test answers with raw response bytes, which may
 * be as broken as it likes (bad chunking, a response before the request body arrived).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RawRequest {
  method: string;
  target: string;
  /** Header lines as received: names in the case the edge sent, repeats kept. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Which connection (0, 1, ...) carried it. */
  connection: number;
}

export interface RawConnection {
  id: number;
  /** Every byte received, in order. */
  bytes: Buffer;
  requests: RawRequest[];
  /** Bytes left over that did not form a complete request when the connection closed. */
  leftover: Buffer;
  closed: boolean;
}

export interface RawAnswer {
  /** The raw bytes to write: status line, headers and body, broken or not. */
  bytes: string | Buffer;
  /** Close the connection after writing. */
  close?: boolean;
  /** Bytes written 50 ms later (a body that goes bad after a good start). */
  later?: string;
}

export interface RawOriginOptions {
  /** The answer for a request; called when the request is complete. */
  answer: (req: RawRequest) => RawAnswer;
  /** Answer as soon as the header section is in, before the body (a server that refuses an upload early). */
  answerEarly?: (req: RawRequest) => boolean;
}

export interface RawOrigin {
  url: string;
  connections: RawConnection[];
  /** Every request on every connection, in arrival order. */
  requests(): RawRequest[];
  close(): Promise<void>;
}

/** Header value by name (case-insensitive), all repeats. */
export function headerValues(req: RawRequest, name: string): string[] {
  return req.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

export async function startRawOrigin(options: RawOriginOptions): Promise<RawOrigin> {
  const connections: RawConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const conn: RawConnection = { id: connections.length, bytes: Buffer.alloc(0), requests: [], leftover: Buffer.alloc(0), closed: false };
    connections.push(conn);
    let pending = Buffer.alloc(0);
    let answeredEarly = false;
    socket.on('data', (chunk: Buffer) => {
      conn.bytes = Buffer.concat([conn.bytes, chunk]);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const head = parseHead(pending, conn.id);
        if (head === undefined) break;
        if (!answeredEarly && options.answerEarly?.(head.req)) {
          answeredEarly = true;
          write(socket, options.answer(head.req));
        }
        const body = readBody(pending, head);
        if (body === undefined) break;
        head.req.body = body.body;
        pending = pending.subarray(body.end);
        conn.requests.push(head.req);
        if (answeredEarly) answeredEarly = false;
        else write(socket, options.answer(head.req));
      }
      conn.leftover = pending;
    });
    socket.on('close', () => {
      conn.closed = true;
      sockets.delete(socket);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    requests: () => connections.flatMap((c) => c.requests),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function write(socket: net.Socket, a: RawAnswer): void {
  if (socket.destroyed) return;
  if (a.close) socket.end(a.bytes);
  else socket.write(a.bytes);
  const later = a.later;
  if (later !== undefined) setTimeout(() => !socket.destroyed && socket.write(later), 50);
}

interface Head {
  req: RawRequest;
  bodyStart: number;
  chunked: boolean;
  length: number;
}

function parseHead(buf: Buffer, connection: number): Head | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const [method = '', target = ''] = lines[0]!.split(' ');
  const headers: Array<[string, string]> = lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  const req: RawRequest = { method, target, headers, body: Buffer.alloc(0), connection };
  const te = headerValues(req, 'transfer-encoding').join(',').toLowerCase();
  const cl = headerValues(req, 'content-length')[0];
  return { req, bodyStart: end + 4, chunked: te.includes('chunked'), length: cl === undefined ? 0 : Number(cl) };
}

function readBody(buf: Buffer, head: Head): { body: Buffer; end: number } | undefined {
  if (!head.chunked) {
    const end = head.bodyStart + head.length;
    return buf.length < end ? undefined : { body: buf.subarray(head.bodyStart, end), end };
  }
  const parts: Buffer[] = [];
  let at = head.bodyStart;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) {
      const trailerEnd = buf.indexOf('\r\n', eol + 2);
      return trailerEnd < 0 ? undefined : { body: Buffer.concat(parts), end: trailerEnd + 2 };
    }
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** A complete HTTP/1.1 response with Content-Length. */
export function rawResponse(status: number, headers: Record<string, string>, body = ''): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} X\r\n${lines.join('')}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
