/**
 * The README's way of running the resolver: `dnscdn dns ... --root-hints FILE --upstream-port PORT`
 * as a child process, resolving through the loopback hierarchy, queried with dig.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsCli } from './dns-cli.js';
import { HINTS_FILE, startHierarchy, type Hierarchy } from '../dns/resolver/hierarchy.js';

const run = promisify(execFile);
let hierarchy: Hierarchy;
let child: ChildProcess | undefined;

beforeAll(async () => {
  hierarchy = await startHierarchy();
});
afterAll(async () => {
  child?.kill();
  await hierarchy.close();
});

/** Starts the CLI and waits for its "dns server started listen=HOST:PORT" line. */
async function startCli(args: string[]): Promise<number> {
  const cli = await startDnsCli(['--zones', 'zones/', ...args]);
  child = cli.child;
  return cli.port;
}

describe('dnscdn dns with recursion flags', () => {
  it('resolves through the root hints with ra set', async () => {
    const port = await startCli(['--root-hints', HINTS_FILE, '--upstream-port', String(hierarchy.port), '--allow-recursion', '127.0.0.0/8,::1', '--randomize-case', '--stale-window', '600']);
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', 'host.other.test']);
    expect(stdout).toMatch(/flags: qr rd ra;/);
    expect(stdout).toMatch(/^host\.other\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.20$/m);
  });

  it('forwards with --forward alone; other names get SERVFAIL', async () => {
    child?.kill();
    const port = await startCli(['--forward', `example.test=127.0.0.55:${hierarchy.port}`]);
    const dig = async (name: string): Promise<string> => (await run('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', name])).stdout;
    expect(await dig('sibling.example.test')).toMatch(/^sibling\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.11$/m);
    expect(await dig('host.other.test')).toMatch(/status: SERVFAIL/);
  });

  it('rejects a bad --allow-recursion value with the reason', async () => {
    const failed = await run(process.execPath, ['bin/dnscdn.js', 'dns', '--root-hints', HINTS_FILE, '--allow-recursion', '10.0.0.1/8']).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toMatch(/--allow-recursion.*bits set past \/8/);
  });
});
