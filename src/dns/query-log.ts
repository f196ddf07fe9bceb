/**
 * The optional query log, as CoreDNS's `log` plugin keeps one: one line per query on stderr with the
 * client, the question, the rcode, the answer, the chain entry that answered, the steering decision when
 * there is one, and the time taken:
 *
 *   2026-11-27T19:10:00.000Z QUERY dns.query: client=127.0.0.1:40120 transport=udp qname=www.cdn.test qtype=A rcode=NOERROR answer=192.0.2.10 handler=authority steering=www.cdn.test decision=1/24/london duration=0.000412
 *
 * Its own stream, not the project logger's levels: DNSCDN_LOG filters operational events (tests and
 * quiet deployments run at warn), while a query log is asked for explicitly and must not vanish with
 * them. Same line shape and quoting as src/log.ts (formatFields), so a hostile qname cannot forge a line.
 *
 * Sampling (`--query-log-sample`, dns.queryLogSample): each query is logged with that probability;
 * 1 logs every query. Off (0) means the pipeline holds no QueryLog at all, so a query pays nothing.
 * Everything here runs only for a sampled query: it decodes the request and the reply bytes again.
 */
import cluster from 'node:cluster';
import { formatFields } from '../log.js';
import type { QueryContext } from './chain.js';
import { rcodeName } from './rcode-names.js';
import type { Message, ResourceRecord } from './types.js';
import { decodeMessage } from './wire.js';

/** Where lines go; stderr unless a test or embedder says otherwise. */
export type LineSink = (line: string) => void;

export class QueryLog {
  constructor(
    /** 0 < sample <= 1 (config validation keeps it there). */
    private readonly sample: number,
    private readonly write: LineSink = (line) => void process.stderr.write(line),
  ) {}

  /** Whether this query is one of the sample. */
  sampled(): boolean {
    return this.sample >= 1 || Math.random() < this.sample;
  }

  /** Writes the line for a query the pipeline is done with: `reply` is what was sent (undefined: dropped). */
  record(ctx: QueryContext, handler: string, reply: Buffer | Buffer[] | undefined, seconds: number): void {
    const request = ctx.query ?? decodedMessage(ctx.bytes);
    const sent = reply === undefined ? undefined : decodedMessage(Array.isArray(reply) ? reply[0]! : reply);
    const question = request?.questions[0] ?? sent?.questions[0];
    const fields = {
      client: ctx.client.address.includes(':') ? `[${ctx.client.address}]:${ctx.client.port}` : `${ctx.client.address}:${ctx.client.port}`,
      transport: ctx.client.transport,
      qname: question ? question.name || '.' : undefined,
      qtype: question?.type,
      rcode: sent ? rcodeName(sent.rcode) : reply === undefined ? 'dropped' : 'unreadable',
      answer: sent ? answerText(sent.answers) : undefined,
      handler,
      steering: ctx.steered?.pool,
      decision: ctx.steered?.cacheKey,
      duration: seconds.toFixed(6),
      // Under `--workers` (node:cluster), which worker answered; absent in a single process.
      worker: cluster.isWorker ? cluster.worker?.id : undefined,
    };
    this.write(`${new Date().toISOString()} QUERY dns.query:${formatFields(fields)}\n`);
  }
}

function decodedMessage(bytes: Buffer): Message | undefined {
  const decoded = decodeMessage(bytes);
  return decoded.kind === 'message' ? decoded.message : undefined;
}

/** The answer section in short: the data of address and name records, the type of the others. */
function answerText(answers: readonly ResourceRecord[]): string {
  return answers.map((rr) => (typeof rr.data === 'string' ? rr.data : rr.type)).join(',');
}
