import { Command } from 'commander';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deploymentFile } from '../cli/config-path.js';
import { loadDeployment } from '../config/load.js';
import { edgeReplicaDir, findEdge, journalDir } from '../config/reach.js';
import { formatReport, repairJournal, verifyJournal } from './journal-repair.js';

interface JournalFlags {
  journal?: string;
  config?: string;
  edge?: string;
  minSeq?: string;
}

/**
 * Which journal file: `--journal` names the file, or a folder holding `journal` (an origin's or distributor's)
 * or `replica.journal` (an edge's); `--config` takes the deployment's `distribution.journal` folder, or with
 * `--edge NAME` that edge's replica; without either, `./dnscdn.yaml` when it exists.
 */
export function journalFileFrom(o: JournalFlags): string {
  if (o.journal !== undefined) {
    const p = resolve(o.journal);
    if (!statSync(p, { throwIfNoEntry: false })?.isDirectory()) return p;
    const origin = join(p, 'journal');
    return statSync(origin, { throwIfNoEntry: false })?.isFile() ? origin : join(p, 'replica.journal');
  }
  const file = deploymentFile(o.config);
  if (file === undefined) throw new Error('name the journal: --journal PATH or --config FILE [--edge NAME] (no ./dnscdn.yaml here)');
  const d = loadDeployment(file);
  if (o.edge !== undefined) {
    const edge = findEdge(d, o.edge);
    if (!d.origin) throw new Error(`${file}: edge ${o.edge} takes no part in push (the deployment has no origin)`);
    return join(edgeReplicaDir(d, edge), 'replica.journal');
  }
  return join(journalDir(d), 'journal');
}

const withJournalOptions = (c: Command): Command =>
  c
    .option('--journal <path>', 'the journal file, or the folder holding it')
    .option('--config <file>', "deployment file: the origin's journal (distribution.journal) (default: ./dnscdn.yaml if present)")
    .option('--edge <name>', "with --config: that edge's replica journal");

/** `dnscdn journal verify|repair`: check a journal offline, and rebuild a damaged one without reissuing sequence numbers. */
export function journalCommand(): Command {
  const journal = new Command('journal').description('check or repair a push journal (with the process that uses it stopped)');
  journal.addCommand(
    withJournalOptions(new Command('verify').description('report damage: exit 0 when the journal opens as it is, 1 when it is damaged')).action(async (o: JournalFlags) => {
      const report = await verifyJournal(journalFileFrom(o));
      process.stdout.write(formatReport(report));
      if (!report.ok) process.exitCode = 1;
    }),
  );
  journal.addCommand(
    withJournalOptions(new Command('repair').description('keep the good records, move the damaged file aside, continue above every sequence number issued'))
      .option('--min-seq <n>', 'continue above this sequence too (an edge reported in status as ahead of the journal)')
      .action(async (o: JournalFlags) => {
        const minSeq = o.minSeq === undefined ? undefined : Number(o.minSeq);
        if (minSeq !== undefined && (!Number.isSafeInteger(minSeq) || minSeq < 0)) throw new Error(`--min-seq must be a non-negative integer, not ${o.minSeq}`);
        const r = await repairJournal(journalFileFrom(o), minSeq === undefined ? {} : { minSeq });
        process.stdout.write(formatReport(r.report, false));
        if (!r.repaired) return void process.stdout.write('nothing to repair\n');
        const lost = r.lost.map((l) => (l.firstSeq === l.lastSeq ? `${l.firstSeq}` : `${l.firstSeq}-${l.lastSeq}`)).join(', ');
        const next = r.report.issuer ? `the next operation is seq ${r.lastSeq + 1}` : 'the replica catches up the rest from its upstream';
        process.stdout.write(`repaired: ${r.report.file} now ends at seq ${r.lastSeq} (${r.objects} live objects); ${next}\n`);
        if (r.backup !== undefined) process.stdout.write(`previous file kept as ${r.backup}\n`);
        if (lost) process.stdout.write(`lost operations: seq ${lost}: push or purge again what they changed\n`);
      }),
  );
  return journal;
}
