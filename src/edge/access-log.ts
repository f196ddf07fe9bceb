/**
 * The edge's access log: one line per request, as nginx's `access_log` and varnishncsa write them.
 *
 * Formats:
 * - `combined` (default): Apache/nginx combined, then the edge's own fields as `key=value` (varnishncsa -F style),
 *   so tools that read combined stop at the user agent and still parse:
 *   `127.0.0.1 - - [27/Nov/2026:19:52:01 +0000] "GET /a HTTP/1.1" 200 1234 "-" "curl/8.5.0" cache=HIT upstream=- duration=0.000211 tls=-`
 * - `json`: one JSON object per line with the same fields (`bytes`, `duration` in seconds, `protocol` h1/h2).
 *
 * `bytes` is what the response put on the connection (status line, headers and body: nginx's `$bytes_sent`),
 * read from the socket's counter, so no per-chunk counting is added to the delivery path.
 * A client that went away before its response finished is logged with status 499 (nginx's convention).
 *
 * Off the hot path: a request costs one small record and the line itself; lines are batched in memory and
 * written by an async append (line-writer.ts), never a synchronous write per request.
 */
import type { Http2ServerRequest } from 'node:http2';
import type { ClientMessage, NodeResponse } from './client-response.js';
import type { TLSSocket } from 'node:tls';
import type { AccessLogConfig } from '../config/types.js';
import { LineWriter } from './line-writer.js';

/** `to`: a file appended to (reopened on `reopen()`, i.e. SIGHUP), or stderr. */
export type AccessLogOptions = AccessLogConfig;

/** What the lifecycle adds to a request's line: set in server.ts once the delivery is known. */
export interface AccessRecord {
  readonly started: number;
  readonly bytesBefore: number;
  /** HIT, MISS, STALE, REVALIDATED, PASS, SYNTH; `-` until a delivery is chosen. */
  outcome: string;
  /** The upstream that answered (its URL); `-` for answers made from the cache or here. */
  upstream: string;
}

/** The fields of one line, as the JSON format prints them. */
export interface AccessLine {
  time: string;
  client: string;
  method: string;
  url: string;
  protocol: 'h1' | 'h2';
  status: number;
  bytes: number;
  duration: number;
  cache: string;
  upstream: string;
  tls: string;
  referer: string;
  userAgent: string;
}

export class AccessLog {
  private readonly writer: LineWriter;
  private readonly json: boolean;
  /** The combined timestamp changes once a second; it is formatted once per second, not per line. */
  private stampSecond = -1;
  private stamp = '';
  /** Requests begun whose line is not written yet; close() waits for them (bounded). */
  private open = 0;
  private drained: (() => void) | undefined;

  constructor(options: AccessLogOptions) {
    this.json = options.format === 'json';
    this.writer = new LineWriter(options.to);
  }

  /** Starts a request's record; its line is written when the response ends (or the client goes away). */
  begin(req: ClientMessage, res: NodeResponse): AccessRecord {
    // For HTTP/2, req.socket reaches the connection's socket only while the stream belongs to its session, so the
    // TLS version is read now and the byte count through the session (still open when a stream closes, unless the
    // client went away: then the count from when the response finished). HTTP/2 counts are of the shared
    // connection, so approximate under multiplexing.
    const socket = req.socket;
    const session = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).stream.session : undefined;
    const bytesNow = (): number | undefined => socketBytes(() => (session ? session.socket : socket));
    const tls = (socket as Partial<TLSSocket>).getProtocol?.() ?? '-';
    const record: AccessRecord = { started: performance.now(), bytesBefore: bytesNow() ?? 0, outcome: '-', upstream: '-' };
    let bytesAtFinish: number | undefined;
    if (session) res.once('finish', () => (bytesAtFinish = bytesNow()));
    this.open++;
    res.once('close', () => {
      const bytes = Math.max(0, (bytesNow() ?? bytesAtFinish ?? record.bytesBefore) - record.bytesBefore);
      this.writer.write(this.format(req, res, record, tls, bytes));
      if (--this.open === 0) this.drained?.();
    });
    return record;
  }

  /** Reopens the file (logrotate moved it away): lines after this go to a new file at the same path. */
  reopen(): Promise<void> {
    return this.writer.reopen();
  }

  /**
   * Writes what is buffered, then closes the file. Responses cut by the server's close emit 'close' after the
   * server's own close callback, so their lines are waited for first (at most CLOSE_WAIT_MS).
   */
  async close(): Promise<void> {
    if (this.open > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.writer.close();
  }

  private format(req: ClientMessage, res: NodeResponse, r: AccessRecord, tls: string, bytes: number): string {
    const now = Date.now();
    const line: AccessLine = {
      time: '',
      client: req.socket.remoteAddress ?? '-',
      method: req.method ?? '-',
      url: req.url ?? '-',
      protocol: req.httpVersionMajor === 2 ? 'h2' : 'h1',
      status: res.writableFinished ? res.statusCode : 499,
      bytes,
      duration: Math.round((performance.now() - r.started) * 1000) / 1e6,
      cache: r.outcome,
      upstream: r.upstream,
      tls,
      referer: headerText(req.headers.referer),
      userAgent: headerText(req.headers['user-agent']),
    };
    if (this.json) {
      line.time = new Date(now).toISOString();
      return `${JSON.stringify(line)}\n`;
    }
    return (
      `${line.client} - - [${this.combinedTime(now)}] "${quoted(line.method)} ${quoted(line.url)} HTTP/${req.httpVersion}" ${line.status} ${line.bytes} ` +
      `"${quoted(line.referer)}" "${quoted(line.userAgent)}" cache=${line.cache} upstream=${line.upstream} duration=${line.duration.toFixed(6)} tls=${line.tls}\n`
    );
  }

  private combinedTime(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.stampSecond) {
      this.stampSecond = second;
      this.stamp = clfTime(new Date(second * 1000));
    }
    return this.stamp;
  }
}

/** The bytes a socket has written, or undefined when it cannot be read (an HTTP/2 stream detached from its session). */
function socketBytes(socket: () => unknown): number | undefined {
  try {
    const n = (socket() as { bytesWritten?: unknown }).bytesWritten;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

/** How long close() waits for the lines of responses still closing. */
const CLOSE_WAIT_MS = 1000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `27/Nov/2026:19:52:01 +0000`: the common log format's time, in UTC. */
function clfTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function headerText(v: string | undefined): string {
  return v === undefined || v === '' ? '-' : v;
}

/**
 * Inside a quoted combined field, `"`, `\` and control bytes are written as `\xHH` (nginx's escaping), so a
 * client cannot end the field early or forge a second line.
 */
function quoted(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(s) ? s.replace(/["\\\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : s;
}
