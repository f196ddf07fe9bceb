/**
 * The dashboard's two routes on the DNS role's admin listener: GET /dashboard (the page) and
 * GET /dashboard/events (Server-Sent Events, html.spec.whatwg.org "Server-sent events": `event:` and `data:`
 * lines, a blank line ends an event). The server pushes a snapshot a second and each feed entry as it happens;
 * the browser's EventSource reconnects by itself after `retry` ms.
 *
 * Bounded: at most `maxClients` streams (503 beyond), and a client that does not read is dropped once
 * MAX_BUFFERED_BYTES are waiting for it, so a stalled page cannot make the DNS process hold memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardCollector, FeedItem, Snapshot } from './collector.js';
import { dashboardPage } from './page.js';

const MAX_BUFFERED_BYTES = 1024 * 1024;
/** A comment line this often keeps proxies and idle timeouts from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

export class DashboardRoutes {
  private clients = 0;
  private page: string | undefined;

  constructor(
    private readonly collector: DashboardCollector,
    private readonly maxClients = 32,
  ) {}

  /** Serves the request when it is the dashboard's; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path === '/dashboard' || path === '/dashboard/') {
      this.page ??= dashboardPage();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'" });
      res.end(req.method === 'HEAD' ? undefined : this.page);
      return true;
    }
    if (path === '/dashboard/events') {
      this.stream(res);
      return true;
    }
    return false;
  }

  get connectedClients(): number {
    return this.clients;
  }

  private stream(res: ServerResponse): void {
    if (this.clients >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end('too many dashboard clients\n');
      return;
    }
    this.clients++;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (chunk: string): void => {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    send('retry: 2000\n\n');
    const { snapshot, feed } = this.collector.current();
    if (feed.length > 0) send(feedEvent(feed));
    if (snapshot) send(snapshotEvent(snapshot));
    const unsubscribe = this.collector.subscribe((e) => {
      if (e.feed) send(feedEvent(e.feed));
      if (e.snapshot) send(snapshotEvent(e.snapshot));
    });
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    res.once('close', () => {
      this.clients--;
      clearInterval(heartbeat);
      unsubscribe();
    });
  }
}

// JSON.stringify never emits a raw newline, so each event's data fits on one `data:` line.
function snapshotEvent(s: Snapshot): string {
  return `event: snapshot\ndata: ${JSON.stringify(s)}\n\n`;
}

function feedEvent(items: FeedItem[]): string {
  return `event: feed\ndata: ${JSON.stringify(items)}\n\n`;
}
