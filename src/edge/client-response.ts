/**
 * The two kinds of request and response objects the edge's listeners hand over: node:http's (HTTP/1.1, plain
 * or over TLS) and node:http2's compat objects (HTTP/2). deliver.ts writes through the few methods both have.
 * Both accept writeHead's flat `[name, value, ...]` list (node 20 http2 compat does; its typings only list the
 * object form, hence this interface rather than the union).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders as Http2Headers, ServerStreamResponseOptions } from 'node:http2';

export type ClientMessage = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

export interface ClientResponse {
  readonly headersSent: boolean;
  statusCode: number;
  /**
   * HTTP/2 only (node:http2's compat response has it, node:http's has not): the stream under the response, on
   * which a fresh hit sends its precomputed head directly (deliver.ts writeHit).
   */
  readonly stream?: Http2HitStream;
  writeHead(status: number, headers: string[] | OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  destroy(): unknown;
  setHeader(name: string, value: string): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
}

/** The part of node's ServerHttp2Stream a fresh hit uses. */
export interface Http2HitStream {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly headersSent: boolean;
  respond(headers: Http2Headers, options: ServerStreamResponseOptions): void;
}

/** What deliver.ts reads of the request: the method, and the headers its conditionals and ranges depend on. */
export interface DeliveredRequest {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/**
 * The one place the typings are bridged: Http2ServerResponse.writeHead takes the flat list at run time (node
 * 20's compat layer; test/edge/https.test.ts exercises it over HTTP/2), though @types/node lists only the object form.
 */
export function asClientResponse(res: NodeResponse): ClientResponse {
  return res as unknown as ClientResponse;
}
