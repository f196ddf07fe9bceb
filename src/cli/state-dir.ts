/**
 * State folders without a deployment file used to default to `.dnscdn/<role>`, while the file's default is
 * `var/` (`var/journal`, `var/edges/NAME`); both now use the file's. A journal must never be left behind
 * silently (a new empty journal would reissue sequence numbers that edges already applied), so when the old
 * folder exists and the new one does not, the old one is kept, with a warning saying how to move.
 */
import { existsSync } from 'node:fs';
import { warnDeprecated } from './flags.js';

export function legacyStateDir(old: string, current: string): string {
  if (!existsSync(old) || existsSync(current)) return current;
  warnDeprecated(`using the state folder ${old} (the old default); the default is now ${current}, as in the deployment file: move the folder there, or name it with --state-dir`);
  return old;
}
