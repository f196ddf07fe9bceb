import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Stats } from 'node:fs';

/**
 * Maps a request path onto a file inside the content root, refusing anything that could reach outside it.
 * Rejected rather than normalised (a normalising resolver is where traversal bugs live):
 * encoded slashes or backslashes (`%2f`, `%5c`), NUL, `.`/`..` segments (also when percent-encoded),
 * dot-files, and symlinks whose real target is outside the root.
 */
export type ContentPath =
  | { ok: true; file: string; urlPath: string; stats: Stats }
  | { ok: false; status: 400 | 403 | 404; reason: string };

/** `root` must already be a real path (see `realContentRoot`). `rawPath` is the path part of the request target, still percent-encoded. */
export async function resolveContentPath(root: string, rawPath: string): Promise<ContentPath> {
  if (!rawPath.startsWith('/')) return { ok: false, status: 400, reason: 'path must start with /' };
  // An encoded separator would let one segment turn into two after decoding.
  if (/%(2f|5c)/i.test(rawPath)) return { ok: false, status: 400, reason: 'encoded path separator' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, reason: 'bad percent-encoding' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 400, reason: 'forbidden character in path' };
  const segments = decoded.split('/').slice(1);
  for (const s of segments) {
    if (s === '.' || s === '..') return { ok: false, status: 400, reason: 'dot segment in path' };
    if (s.startsWith('.')) return { ok: false, status: 404, reason: 'hidden file' };
  }
  let file = join(root, ...segments);
  let stats: Stats;
  try {
    const real = await realpath(file);
    if (real !== root && !real.startsWith(root + sep)) return { ok: false, status: 403, reason: 'symlink points outside the content root' };
    stats = await stat(real);
    if (stats.isDirectory()) {
      const index = await realpath(join(real, 'index.html'));
      if (!index.startsWith(root + sep)) return { ok: false, status: 403, reason: 'symlink points outside the content root' };
      stats = await stat(index);
      file = index;
    } else {
      file = real;
    }
  } catch {
    return { ok: false, status: 404, reason: 'not found' };
  }
  if (!stats.isFile()) return { ok: false, status: 404, reason: 'not a regular file' };
  const urlPath = decoded.endsWith('/') ? `${decoded}index.html` : decoded;
  return { ok: true, file, urlPath, stats };
}

/** The canonical real path of the content directory, resolved once at start. */
export async function realContentRoot(dir: string): Promise<string> {
  const root = await realpath(dir);
  const s = await stat(root);
  if (!s.isDirectory()) throw new Error(`content root ${dir} is not a directory`);
  return root;
}
