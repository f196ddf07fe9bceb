/**
 * `dnscdn check` as an operator runs it (the built CLI, a real child process): silent exit 0 on a good file,
 * one `file:line: key: reason` line per problem and exit 1 on each broken example in test/fixtures/check/,
 * and `dnscdn up` refusing to start anything on a broken file.
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/check/command.js';
import { checkDeploymentFile } from '../../src/check/deployment-check.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function dnscdn(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/dnscdn.js', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const F = 'test/fixtures/check';

describe('dnscdn check', () => {
  it('is silent with exit 0 on the shipped dnscdn.yaml and on a good file; -v prints one summary line', async () => {
    expect(await dnscdn(['check', '--config', 'dnscdn.yaml'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await dnscdn(['check'])).toEqual({ code: 0, stdout: '', stderr: '' }); // ./dnscdn.yaml by default
    const verbose = await dnscdn(['check', '--config', `${F}/good.yaml`, '-v']);
    expect(verbose).toEqual({ code: 0, stdout: `${F}/good.yaml: ok (1 zone file, 1 edge, 1 pool, origin content)\n`, stderr: '' });
  });

  // One broken thing per file, each reported at its file and line.
  const cases: Array<[string, RegExp]> = [
    ['bad-key.yaml', /^test\/fixtures\/check\/bad-key\.yaml:6: origin\.contents: unknown key "contents"/],
    ['bad-duration.yaml', /^test\/fixtures\/check\/bad-duration\.yaml:9: edges\.one\.health\.interval: "fast" is not a duration/],
    ['bad-zone.yaml', /^test\/fixtures\/check\/zones-bad\/check\.test\.zone:7: A "192\.0\.2\.300" is not an IPv4 address/],
    ['missing-content.yaml', /^test\/fixtures\/check\/missing-content\.yaml:7: origin\.content: content folder test\/fixtures\/check\/no-such-folder does not exist/],
    ['missing-certificate.yaml', /^test\/fixtures\/check\/missing-certificate\.yaml:6: edgeDefaults\.tls: certificate test\/fixtures\/check\/no-such-cert\.pem does not exist/],
    ['clash.yaml', /^test\/fixtures\/check\/clash\.yaml:3: dns\.listen: address 0\.0\.0\.0:8080 clashes with 127\.0\.0\.40:8080 of edge one/],
  ];
  // In-process (the CLI's own functions): a child process per case would cost ~1 s each on a loaded machine.
  it.each(cases)('%s: one problem, one line naming file:line', (file, line) => {
    const report = checkDeploymentFile(`${F}/${file}`);
    expect(report.problems.map((p) => formatProblem(p))).toEqual([expect.stringMatching(line)]);
    expect(report.deployment === undefined || report.problems.length > 0).toBe(true);
  });

  it('lists every independent problem of a file, in file order, not only the first', async () => {
    const r = await dnscdn(['check', '--config', `${F}/many.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${F}/many.yaml:5: dns.udpSize: 100 is below the minimum 512`,
      `${F}/many.yaml:10: edges.one.weight: expected a number`,
      `${F}/many.yaml:14: colour: unknown key "colour" (allowed here: dns, edgeDefaults, edges, clusters, pools, geo, origin, distribution, admin, tls, log)`,
    ]);
  });

  it('an unreadable file is one problem naming it', () => {
    expect(checkDeploymentFile(`${F}/absent.yaml`).problems.map((p) => formatProblem(p))).toEqual([expect.stringMatching(/^test\/fixtures\/check\/absent\.yaml: cannot read: ENOENT/)]);
  });
});

describe('dnscdn up runs the same checks first', () => {
  it('starts nothing on a file whose content folder is missing, and names the problem', async () => {
    const r = await dnscdn(['up', '--config', `${F}/missing-content.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('[up]'); // no child was started
    expect(r.stderr).toMatch(/^test\/fixtures\/check\/missing-content\.yaml:7: origin\.content: content folder test\/fixtures\/check\/no-such-folder does not exist\ndnscdn up: the deployment has problems \(listed above\); nothing was started\n$/);
  });
});
