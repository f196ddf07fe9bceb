/**
 * `dnscdn up [--config FILE] [--restart]`: the whole CDN of a deployment on this machine, one child
 * process per role (DNS, origin with its distribution node, every edge). Without --config it runs the
 * embedded default `dnscdn.yaml` at the package root. Ctrl-C / SIGTERM stops every child.
 */
import { Command } from 'commander';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadDeployment } from '../config/load.js';
import type { HostPort } from '../net/address.js';
import { formatBanner, planProcesses } from './plan.js';
import { Supervisor } from './supervisor.js';

const DEFAULT_CONFIG = fileURLToPath(new URL('../../dnscdn.yaml', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/dnscdn.js', import.meta.url));

/** True once something accepts TCP connections at `at`. */
function accepts(at: HostPort): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: at.host, port: at.port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitReady(addresses: HostPort[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (const at of addresses) {
    while (!(await accepts(at))) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return true;
}

export function upCommand(): Command {
  return new Command('up')
    .description('start DNS, origin, distribution and every edge of a deployment, each as its own process')
    .option('--config <file>', 'deployment file', DEFAULT_CONFIG)
    .option('--restart', 'restart a child that exits (with backoff); without it a killed edge stays down')
    .action(async (o: { config: string; restart?: boolean }) => {
      const deployment = loadDeployment(o.config);
      const specs = planProcesses(deployment);
      const write = (line: string): void => void process.stdout.write(`${line}\n`);
      const token = deployment.adminTokens[0];
      const supervisor = new Supervisor(specs, {
        command: process.execPath,
        commandArgs: [BIN],
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
      const ready = await waitReady(specs.flatMap((s) => s.ready), 30_000);
      write(ready ? '[up] ready' : '[up] some processes are not accepting connections after 30 s; see their output above');
      process.stdout.write(formatBanner(deployment, supervisor.pids()));
    });
}
