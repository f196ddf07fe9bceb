/**
 * `dnscdn up [--config FILE] [--restart]`: the whole CDN of a deployment on this machine, one child
 * process per role (DNS, origin with its distribution node, every edge). Without --config it runs
 * `./dnscdn.yaml`, else the demo `dnscdn.yaml` at the package root (src/cli/config-path.ts). It first runs
 * the checks of `dnscdn check` and starts nothing if one fails. Ctrl-C / SIGTERM stops every child.
 * "ready" is printed only when every child has reported over IPC that its listeners are bound; a child that
 * ends before that makes `up` stop the others and exit 1 with that child's error (unless --restart).
 */
import { Command } from 'commander';
import { dirname } from 'node:path';
import { checkDeploymentFile } from '../check/deployment-check.js';
import { reportCheck } from '../check/command.js';
import { deploymentFileOrEmbedded } from '../cli/config-path.js';
import { DNSCDN_BIN } from '../cli/package-files.js';
import { prepareDemoCertificates } from '../edge/tls/demo-setup.js';
import { applyFileLogSettings } from '../log.js';
import { formatBanner, planProcesses } from './plan.js';
import { Supervisor, type StartOutcome } from './supervisor.js';

/** After this long without every child ready, `up` says which ones it is still waiting for (and waits on). */
const READY_TIMEOUT_MS = 30_000;

/** The one-paragraph reason `up` gives up: which child, how it ended, and its own last words on stderr. */
export function formatStartFailure(outcome: Exclude<StartOutcome, { kind: 'ready' }>, waitedMs: number = READY_TIMEOUT_MS): string {
  if (outcome.kind === 'timeout') return `not ready after ${waitedMs / 1000} s: ${outcome.waitingFor.join(', ')}`;
  const said = outcome.stderr.length > 0 ? `:\n  ${outcome.stderr.join('\n  ')}` : ' (it wrote nothing on stderr)';
  return `${outcome.label} (pid ${outcome.pid ?? '-'}) exited with ${outcome.how} before it was ready${said}`;
}

export function upCommand(): Command {
  return new Command('up')
    .description('start DNS, origin, distribution and every edge of a deployment, each as its own process')
    .option('--config <file>', 'deployment file, relative to the working directory (default: ./dnscdn.yaml if present, else the shipped demo file)')
    .option('--restart', 'restart a child that exits (with backoff); without it a killed edge stays down')
    .action(async (o: { config?: string; restart?: boolean }) => {
      const checked = checkDeploymentFile(deploymentFileOrEmbedded(o.config));
      if (!reportCheck(checked) || checked.deployment === undefined) {
        process.stderr.write('dnscdn up: the deployment has problems (listed above); nothing was started\n');
        process.exit(1);
      }
      const deployment = checked.deployment;
      applyFileLogSettings(deployment.log);
      const specs = planProcesses(deployment);
      const write = (line: string): void => void process.stdout.write(`${line}\n`);
      // Once, before any edge starts: five edge processes must not race to make five CAs.
      const demo = await prepareDemoCertificates(deployment);
      if (demo?.created) write(`[up] made a demo CA and certificate in ${dirname(demo.caFile)} (trust ${demo.caFile})`);
      const token = deployment.adminTokens[0];
      const supervisor = new Supervisor(specs, {
        command: process.execPath,
        commandArgs: [DNSCDN_BIN],
        restart: o.restart === true,
        env: token === undefined ? {} : { DNSCDN_ADMIN_TOKEN: token, DNSCDN_TOKEN: token },
        write,
      });
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        write('[up] stopping every process');
        void supervisor.stop().then(() => {
          write('[up] stopped');
          process.exit(0);
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      supervisor.start();
      let outcome = await supervisor.whenReady(READY_TIMEOUT_MS);
      // A child that is still alive is slow, not failed (measured: edges took 10-17 s to bind on this 2-core
      // machine at a load average of 9), so a timeout only says who is late; an exit is what fails the start.
      while (outcome.kind === 'timeout' && !stopping) {
        write(`[up] ${formatStartFailure(outcome)}; still waiting${o.restart === true ? ' (restarting what fails)' : ''}`);
        outcome = await supervisor.whenReady(READY_TIMEOUT_MS);
      }
      if (stopping) return;
      if (outcome.kind !== 'ready') {
        // Fail fast: a CDN with a role missing must not look started. Stop the others and exit non-zero.
        stopping = true;
        process.stderr.write(`dnscdn up: ${formatStartFailure(outcome)}\n`);
        write('[up] stopping every process');
        await supervisor.stop();
        process.exit(1);
      }
      write('[up] ready');
      process.stdout.write(formatBanner(deployment, supervisor.pids()));
    });
}
