/**
 * Root hints in the usual `named.root` form (NS records for '.' and the servers' A/AAAA records), read
 * with the zone-file parser so the same file works for BIND, Unbound and us.
 */
import { ConfigError } from '../../errors.js';
import { nameKey } from '../name.js';
import { parseMasterFile, type ParseResult } from '../zone/parse.js';
import type { RootHints } from './options.js';

export function loadRootHints(file: string): RootHints {
  return rootHintsFrom(parseMasterFile(file, { origin: '.' }), file);
}

/** Builds hints from parsed records; a file with errors, no root NS or no addresses is refused with its name. */
export function rootHintsFrom(parsed: ParseResult, file: string): RootHints {
  const first = parsed.errors[0];
  if (first) throw first;
  const nameServers: string[] = [];
  const addresses = new Map<string, string[]>();
  for (const { record } of parsed.records) {
    if (record.type === 'NS' && nameKey(record.name) === '') nameServers.push(record.data);
  }
  const wanted = new Set(nameServers.map(nameKey));
  for (const { record } of parsed.records) {
    if ((record.type === 'A' || record.type === 'AAAA') && wanted.has(nameKey(record.name))) {
      const key = nameKey(record.name);
      addresses.set(key, [...(addresses.get(key) ?? []), record.data]);
    }
  }
  if (nameServers.length === 0) throw new ConfigError({ file }, 'root hints have no NS records for "."');
  if (addresses.size === 0) throw new ConfigError({ file }, 'root hints have no addresses for the root name servers');
  return { nameServers, addresses };
}
