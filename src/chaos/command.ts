/**
 * `dnscdn chaos [--config FILE]`: runs the deployment (the shipped demo by default) under client load, breaks it
 * at random, and reports (src/chaos/run.ts). The roles bind the file's own addresses, so `npm start` must not be
 * running on the same file. Exit status 1 when an acknowledged purge or push did not reach every edge.
 */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { deploymentFileOrEmbedded } from '../cli/config-path.js';
import { durationFlag } from '../cli/flags.js';
import { loadDeployment } from '../config/load.js';
import { formatReport } from './report.js';
import { runChaos } from './run.js';

interface ChaosFlags {
  config?: string;
  duration: number;
  seed: string;
  clients: string;
  faultInterval: number;
  operationInterval: number;
  targets?: string;
  report?: string;
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad ${flag} "${text}": a whole number`);
  return n;
}

export function chaosCommand(): Command {
  return new Command('chaos')
    .description('run the deployment under client load while killing and freezing its processes at random, then report')
    .option('--config <file>', 'deployment file (default: ./dnscdn.yaml, else the shipped demo)')
    .addOption(new Option('--duration <duration>', 'how long the faults and the load last').default(60_000, '60s').argParser(durationFlag('--duration', 1000)))
    .option('--seed <n>', 'seed of the faults, clients and operations: the same seed replays the same run', '1')
    .option('--clients <n>', 'concurrent clients', '16')
    .addOption(new Option('--fault-interval <duration>', 'mean time between faults').default(8000, '8s').argParser(durationFlag('--fault-interval', 100)))
    .addOption(new Option('--operation-interval <duration>', 'mean time between pushes or purges').default(2000, '2s').argParser(durationFlag('--operation-interval', 100)))
    .option('--targets <regex>', "which processes may be faulted, by label: up's table, or '<role> worker <pid>' (default: edges, origin replicas, workers)")
    .option('--report <file>', 'also write the report as JSON')
    .action(async (o: ChaosFlags) => {
      const deployment = loadDeployment(deploymentFileOrEmbedded(o.config));
      const report = await runChaos({
        deployment,
        durationMs: o.duration,
        seed: positiveInteger('--seed', o.seed),
        clients: Math.max(1, positiveInteger('--clients', o.clients)),
        faultIntervalMs: o.faultInterval,
        operationIntervalMs: o.operationInterval,
        ...(o.targets !== undefined ? { targets: new RegExp(o.targets) } : {}),
        progress: (line) => void process.stderr.write(`dnscdn chaos: ${line}\n`),
      });
      process.stdout.write(formatReport(report));
      if (o.report !== undefined) writeFileSync(o.report, `${JSON.stringify(report, null, 2)}\n`);
      if (report.convergence.purgesLost > 0) process.exitCode = 1;
    });
}
