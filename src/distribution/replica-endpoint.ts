import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../errors.js';
import { DiskWriteError } from './durable-file.js';
import { decodeStream } from './frames.js';
import type { Follower } from './follower.js';
import type { ReplicaReport } from './edge-link.js';
import { readRequestBody } from '../http/body.js';
import { sendJson } from '../http/reply.js';

export const REPLICA_PATH = '/.dnscdn/replica';

/**
 * `POST /.dnscdn/replica` (a batch of journal frames pushed by the node above) and `GET /.dnscdn/replica`
 * (this replica's cursor), on an admin listener, which checked the bearer token before the body is read. The
 * answer is always `{lastSeq, skipped}`: the sender's cursor. A bad body gets 400 and changes nothing.
 */
export async function handleReplicaRequest(follower: Follower, req: IncomingMessage, res: ServerResponse, maxBatchBytes: number): Promise<void> {
  if (req.method !== 'POST' && req.method !== 'GET') throw new HttpError(405, 'use GET or POST');
  sendJson(res, 200, await answerReplica(follower, req.method, req.method === 'POST' ? await readRequestBody(req, maxBatchBytes) : undefined));
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
