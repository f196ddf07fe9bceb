import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Distributor } from '../../src/distribution/distributor.js';
import { tempDir } from '../origin/helpers.js';
import { runCli } from './processes.js';

/**
 * Issue 10, low: a journal under /proc made the origin spin at 100 % CPU with no message. The cause is Node's
 * recursive mkdir, which loops forever when mkdir answers ENOENT under an existing parent (as /proc does).
 * Before the fix these tests time out instead of failing fast.
 */
describe('a journal path that cannot hold a journal is a clear error at start', () => {
  it('under /proc: the origin exits 1 at once, naming the path', { timeout: 15_000 }, async () => {
    // Killed after 10 s if it has not exited: the old behaviour was to spin forever.
    const r = await runCli(['origin', '--listen', '127.0.0.1:0', '--token', 't', '--content', 'content/', '--state-dir', '/proc/dnscdn-journal-test/state'], 10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('dnscdn: /proc/dnscdn-journal-test/state: cannot create directory /proc/dnscdn-journal-test (ENOENT)');
  });

  it('under /proc, opened in-process: rejects with the path instead of never resolving', { timeout: 5_000 }, async () => {
    await expect(Distributor.open({ dataDir: '/proc/dnscdn-journal-test', token: 't', downstream: [] })).rejects.toThrow(/\/proc\/dnscdn-journal-test/);
  });

  it('a journal path that is a directory, and a data folder that is a file, are refused with their paths', { timeout: 5_000 }, async () => {
    const dir = await tempDir('state-path');
    await mkdir(join(dir, 'journal'));
    await expect(Distributor.open({ dataDir: dir, token: 't', downstream: [] })).rejects.toThrow(`${join(dir, 'journal')}: cannot use as a journal: not a regular file`);
    await writeFile(join(dir, 'plain-file'), '');
    await expect(Distributor.open({ dataDir: join(dir, 'plain-file', 'state'), token: 't', downstream: [] })).rejects.toThrow(`${join(dir, 'plain-file')} exists and is not a directory`);
  });
});
