/**
 * Small responses written whole: JSON for machines (admin APIs, links between roles) and plain text for
 * people and errors. Both carry their Content-Length and `Cache-Control: no-store`: an admin answer or an
 * error must never be kept by a cache in between.
 */
import type { OutgoingHttpHeaders } from 'node:http';

/** What is written to: node:http's ServerResponse, or node:http2's compat response (the edge's HTTPS port). */
export interface ReplyTarget {
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  end(body: string | Buffer): unknown;
}

export function sendJson(res: ReplyTarget, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendBody(res, status, 'application/json', `${JSON.stringify(value)}\n`, headers);
}

export function sendText(res: ReplyTarget, status: number, text: string, headers: Record<string, string> = {}): void {
  sendBody(res, status, 'text/plain; charset=utf-8', text, headers);
}

function sendBody(res: ReplyTarget, status: number, contentType: string, body: string | Buffer, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', ...headers });
  res.end(body);
}
