/** The README test's extraction rule and comparison (blocks.ts), on small documents. */
import { describe, expect, it } from 'vitest';
import { consoleBlocks, missingLines } from './blocks.js';

describe('extraction', () => {
  const doc = [
    'text',
    '```console',
    '$ echo a \\',
    '  b',
    'a b',
    '',
    '$ true',
    '```',
    '```sh',
    '$ not run',
    '```',
    '<!-- readme-test: skip needs something else -->',
    '```console',
    '$ skipped',
    '```',
    '- item',
    '',
    '  ```console',
    '  $ indented',
    '  out',
    '  ```',
  ].join('\n');

  it('takes console blocks only, not the marked ones; $ starts a command, a trailing \\ continues it', () => {
    expect(consoleBlocks(doc)).toEqual([
      { line: 2, examples: [{ line: 3, command: 'echo a   b', expected: ['a b'] }, { line: 7, command: 'true', expected: [] }] },
      { line: 18, examples: [{ line: 19, command: 'indented', expected: ['out'] }] },
    ]);
  });
});

describe('comparison in substance', () => {
  it('shown lines in order, with blanks collapsed and volatile numbers masked', () => {
    const real = ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242\n;; flags: qr aa rd\nage: 7\ncache-status: dnscdn; hit; ttl=12\n';
    expect(missingLines([';; ->>HEADER<<-  opcode: QUERY, status: NOERROR, id: 35755', '...', 'age: 1', 'cache-status: dnscdn; hit; ttl=59'], real)).toEqual([]);
  });

  it('a different status, flag or X-Cache value, or a line out of order, is missing', () => {
    expect(missingLines(['x-cache: HIT'], 'x-cache: MISS\n')).toEqual(['x-cache: HIT']);
    expect(missingLines(['status: NXDOMAIN'], 'status: NOERROR\n')).toEqual(['status: NXDOMAIN']);
    expect(missingLines(['b', 'a'], 'a\nb\n')).toEqual(['a']);
    expect(missingLines(['200 HIT'], '404 HIT\n')).toEqual(['200 HIT']);
  });

  it('… in a shown line matches any text', () => {
    expect(missingLines(['"part 00: xxxx…" … "part 06: xxxx…"'], '"part 00: xxxxxxxxxx" "part 01: x" "part 06: xxxxxxx"\n')).toEqual([]);
  });
});
