import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { contentTypeFor } from './content-type.js';
import { etagForDigest } from './etags.js';
import type { EtagCache } from './etags.js';
import { resolveContentPath } from './safe-path.js';
import type { PathPolicy } from './rules.js';
import type { PutInput } from '../distribution/operations.js';

/**
 * The headers that describe one file as the origin serves it. Serving and pushing both use this, so a pushed
 * copy at an edge carries exactly the headers a pulled one would.
 */
export interface Representation {
  file: string;
  urlPath: string;
  size: number;
  etag: string;
  sha256: string;
  lastModified: string;
  lastModifiedSeconds: number;
  headers: Record<string, string>;
}

export async function describeFile(file: string, urlPath: string, stats: Stats, etags: EtagCache, policy: PathPolicy): Promise<Representation> {
  const v = await etags.validators(file, stats);
  const p = policy.for(urlPath);
  const lastModifiedSeconds = Math.floor(stats.mtimeMs / 1000);
  const lastModified = new Date(lastModifiedSeconds * 1000).toUTCString();
  const headers: Record<string, string> = {
    'content-type': contentTypeFor(urlPath),
    etag: v.etag,
    'last-modified': lastModified,
    'cache-control': p.cacheControl,
    'accept-ranges': 'bytes',
  };
  if (p.surrogateKeys.length > 0) headers['surrogate-key'] = p.surrogateKeys.join(' ');
  return { file, urlPath, size: stats.size, etag: v.etag, sha256: v.sha256, lastModified, lastModifiedSeconds, headers };
}

export class PushSourceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a content file as a put operation, body included; the digest is computed from the bytes read. */
export async function putFromContent(root: string, urlPath: string, etags: EtagCache, policy: PathPolicy): Promise<{ op: PutInput; body: Buffer }> {
  const found = await resolveContentPath(root, encodeURI(urlPath));
  if (!found.ok) throw new PushSourceError(found.status === 404 ? 404 : 400, `${urlPath}: ${found.reason}`);
  const body = await readFile(found.file);
  const rep = await describeFile(found.file, found.urlPath, found.stats, etags, policy);
  const sha256 = createHash('sha256').update(body).digest('hex');
  // The file may have changed between stat and read: the bytes we send decide the tag.
  const headers = { ...rep.headers, etag: sha256 === rep.sha256 ? rep.etag : etagForDigest(sha256), 'content-length': String(body.length) };
  return { op: { kind: 'put', path: urlPath, status: 200, etag: headers.etag, headers, sha256, length: body.length }, body };
}
