/**
 * dnscdn command line: one sub-command per role, each built by its own module
 * (`src/<role>/command.ts` exports a function returning a commander Command).
 * The same deployment can run every role in one tree (`up`) or one role per host.
 */
import { Command, CommanderError } from 'commander';
import { chaosCommand } from './chaos/command.js';
import { readFileSync } from 'node:fs';
import { checkCommand } from './check/command.js';
import { distributorCommand } from './distribution/command.js';
import { journalCommand } from './distribution/journal-command.js';
import { originCommand, pushCommand, purgeCommand, statusCommand } from './origin/command.js';
import { dnsCommand } from './dns/command.js';
import { edgeCommand } from './edge/command.js';
import { addLogFlags, applyLogFlags } from './log-flags.js';
import { bindFailure } from './bind-error.js';
import { logger } from './log.js';
import { exitWithSupervisor } from './up/child.js';
import { upCommand } from './up/command.js';
import { applyServerV8Flags } from './v8-flags.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('dnscdn')
    .description('caching DNS server with geo-steering, RFC 9111 edge caches and origin push')
    .version(pkg.version)
    .showHelpAfterError();
  for (const make of commands) program.addCommand(addLogFlags(make()));
  program.hook('preAction', applyLogFlags);
  return program;
}

// Role commands, in the order `dnscdn --help` lists them.
const commands: Array<() => Command> = [upCommand, checkCommand, dnsCommand, edgeCommand, originCommand, distributorCommand, pushCommand, purgeCommand, statusCommand, journalCommand, chaosCommand];

export async function runCli(argv: string[]): Promise<void> {
  applyServerV8Flags();
  exitWithSupervisor();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const bind = bindFailure(err);
    if (bind) {
      logger('dnscdn').error('cannot bind a listener; not started', bind);
      process.exit(1);
    }
    process.stderr.write(`dnscdn: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
