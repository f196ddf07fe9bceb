import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../errors.js';
import { hasValidToken } from './auth.js';
import { DiskWriteError } from './durable-file.js';
import { decodeStream } from './frames.js';
import type { Follower } from './follower.js';
import type { ReplicaReport } from './edge-link.js';
import { readBody } from './request-body.js';

export const REPLICA_PATH = '/.dnscdn/replica';

/**
 * `POST /.dnscdn/replica` (a batch of journal frames pushed by the node above) and `GET /.dnscdn/replica`
 * (this replica's cursor), both with the bearer token. The answer is always `{lastSeq, skipped}`: the sender's
 * cursor. A wrong token gets 401 before the body is read, a bad body 400; neither changes anything.
 */
export async function handleReplicaRequest(follower: Follower, token: string, req: IncomingMessage, res: ServerResponse, maxBatchBytes: number): Promise<void> {
  if (!hasValidToken(req, token)) throw new HttpError(401, 'missing or wrong token');
  if (req.method !== 'POST' && req.method !== 'GET') throw new HttpError(405, 'use GET or POST');
  sendJson(res, 200, await answerReplica(follower, req.method, req.method === 'POST' ? await readBody(req, maxBatchBytes) : undefined));
}

/** The route's work once authorised and read: apply a POSTed batch (400 if malformed), report the cursor. */
export async function answerReplica(follower: Follower, method: 'GET' | 'POST', body: Buffer | undefined): Promise<ReplicaReport> {
  if (method === 'POST') {
    try {
      await follower.receive(decodeStream(body ?? Buffer.alloc(0)));
    } catch (err) {
      // Nothing of the batch was applied past what is durable: the sender gets a 5xx and resends from our cursor.
      if (err instanceof DiskWriteError) throw new HttpError(err.httpStatus, `batch not stored: ${err.message}`);
      throw err;
    }
  }
  const report: ReplicaReport = { lastSeq: follower.lastSeq, skipped: follower.skipped.slice(-20), staged: follower.staged };
  if (follower.maxBodyBytes !== undefined) report.maxBodyBytes = follower.maxBodyBytes;
  return report;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
