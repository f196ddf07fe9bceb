/**
 * deploy/systemd/: every unit passes `systemd-analyze verify` with no warning (verify only warns, exit 0, on a
 * misspelt value, so any output fails the test), its ExecStart is a command our CLI accepts, and every role a unit
 * runs survives the SIGHUP that `systemctl reload` sends (without a handler node would exit, and systemd counts
 * an exit on SIGHUP as clean, so Restart=on-failure would not bring it back).
 *
 * verify checks that ExecStart's binary exists, so it runs on copies whose ExecStart names this machine's node
 * and this checkout instead of /usr/bin/node and /opt/dnscdn; nothing else is changed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { privateLoopback } from '../net/loopback.js';
import { eventually, startCli, stopCli, type Proc } from '../push/processes.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNITS = join(ROOT, 'deploy/systemd');
const INSTALLED_NODE = '/usr/bin/node';
const INSTALLED_ROOT = '/opt/dnscdn';
const unitFiles = readdirSync(UNITS).filter((f) => f.endsWith('.service'));
const text = (f: string): string => readFileSync(join(UNITS, f), 'utf8');

async function which(command: string): Promise<string | undefined> {
  return (await run('sh', ['-c', `command -v ${command}`]).catch(() => ({ stdout: '' }))).stdout.trim() || undefined;
}
const systemdAnalyze = await which('systemd-analyze');
if (!systemdAnalyze) console.log('skipping systemd-analyze verify: systemd-analyze is not installed (apt-get install systemd)');

/** `KEY=value` lines of a unit (last one wins, as systemd reads a repeated single-value key). */
function keys(unit: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of unit.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0 && !line.startsWith('#')) m.set(line.slice(0, at), line.slice(at + 1));
  }
  return m;
}

describe('systemd units', () => {
  it('one unit per role: dns, edge@ (instance = edge name), origin, distributor', () => {
    expect(unitFiles.sort()).toEqual(['dnscdn-distributor.service', 'dnscdn-dns.service', 'dnscdn-edge@.service', 'dnscdn-origin.service']);
    expect(keys(text('dnscdn-edge@.service')).get('ExecStart')).toContain('edge --name %i ');
  });

  it.each(unitFiles)('%s: restarts on failure, runs as dnscdn, is hardened, reloads with SIGHUP', (f) => {
    const k = keys(text(f));
    expect(k.get('Restart')).toBe('on-failure');
    expect(k.get('User')).toBe('dnscdn');
    expect(k.get('ProtectSystem')).toBe('strict');
    expect(k.get('NoNewPrivileges')).toBe('yes');
    expect(k.get('StateDirectory')).toBe('dnscdn');
    expect(k.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(k.get('ExecStart')).toMatch(new RegExp(`^${INSTALLED_NODE} ${INSTALLED_ROOT}/bin/dnscdn\\.js \\w+ .*--config /etc/dnscdn/dnscdn\\.yaml$`));
    if (f !== 'dnscdn-distributor.service') expect(k.get('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
  });

  it.skipIf(!systemdAnalyze).each(unitFiles)('%s passes systemd-analyze verify without a warning', async (f) => {
    const dir = mkdtempSync(join(tmpdir(), 'dnscdn-units-'));
    for (const u of unitFiles) writeFileSync(join(dir, u), text(u).replaceAll(`ExecStart=${INSTALLED_NODE} ${INSTALLED_ROOT}/`, `ExecStart=${process.execPath} ${ROOT}`));
    const unit = f.replace('@.service', '@london.service'); // a template is verified as an instance
    const r = await run(systemdAnalyze!, ['verify', join(dir, unit)], { cwd: dir }).catch((err: { code: number; stderr: string }) => ({ stdout: '', stderr: err.stderr, code: err.code }));
    expect(r.stderr).toBe('');
  });

  it.each(unitFiles)('%s: ExecStart names a command and flags that dnscdn accepts', async (f) => {
    const args = keys(text(f)).get('ExecStart')!.split(' ').slice(2).map((a) => a.replaceAll('%i', 'london'));
    const flags = args.filter((a) => a.startsWith('--'));
    const help = (await run(process.execPath, [join(ROOT, 'bin/dnscdn.js'), args[0]!, '--help'])).stdout;
    for (const flag of flags) expect(help, `${args[0]} --help`).toContain(`${flag} <`);
  });
});

describe('SIGHUP (systemctl reload) on each role', () => {
  const HOST = privateLoopback();
  const dir = mkdtempSync(join(tmpdir(), 'dnscdn-hup-'));
  mkdirSync(join(dir, 'content'));
  mkdirSync(join(dir, 'zones'));
  const file = join(dir, 'dnscdn.yaml');
  writeFileSync(
    file,
    `dns:
  listen: [${HOST}:15353]
  zones: zones/
edges:
  london: { addresses: [${HOST}], port: 8080, admin: ${HOST}:9080, location: { lat: 51.5, lon: -0.1 } }
origin:
  listen: ${HOST}:8000
  admin: ${HOST}:9000
  content: content/
distribution:
  listen: ${HOST}:8100
  admin: ${HOST}:9100
  journal: ${join(dir, 'var/journal')}
admin:
  tokens: [hup-test-token]
`,
  );
  const running: Proc[] = [];
  afterAll(async () => {
    await Promise.all(running.map((p) => stopCli(p)));
  });
  const free = ['--listen', `${HOST}:0`, '--admin-listen', `${HOST}:0`];

  it.each([
    ['dns', ['dns', '--config', file, '--listen', `${HOST}:0`]],
    ['edge', ['edge', '--config', file, '--name', 'london', ...free]],
    ['origin', ['origin', '--config', file, ...free, '--data-dir', join(dir, 'origin-state')]],
    ['distributor', ['distributor', '--config', file, ...free, '--data-dir', join(dir, 'distributor-state')]],
  ])('%s keeps running and says what it reloaded', async (role, args) => {
    const p = startCli(args, { DNSCDN_LOG: 'info' });
    running.push(p);
    await eventually(async () => /listening on/.test(p.output()), 15_000, p.output);
    p.child.kill('SIGHUP');
    // DNS rebuilds pools, edges and geo from the file (config/reload.ts); the others apply its log section.
    const said = role === 'dns' ? /INFO config: config reloaded/ : /INFO config: SIGHUP: deployment file valid; applying its log settings/;
    await eventually(async () => said.test(p.output()), 5000, p.output);
    expect(p.child.exitCode, `${role}: ${p.output()}`).toBe(null);
    expect(p.child.signalCode).toBe(null);
  });
});
