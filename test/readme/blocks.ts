/**
 * The README's runnable examples, and how their output is compared. The rule, also stated at the top of the
 * README ("How the examples are tested"):
 * - every ```console block is run, in README order, against one `npm start` deployment, unless the line
 *   before it is `<!-- readme-test: skip REASON -->`; plain ``` and ```sh blocks are never run;
 * - in a console block, a line starting with `$ ` is a command (a trailing `\` continues it on the next
 *   line) and the lines after it, up to the next command, are its output;
 * - output is compared in substance: each shown line must appear in the real output, in order (lines left
 *   out, or `...`, skip any number of lines), after both sides are normalised: runs of blanks become one
 *   space, numbers of 4 digits or more (IDs, pids, ports, sizes, dates), `Query time`, `age:` and `ttl=`
 *   values and HTTP dates are masked, and `…` in a shown line matches any text.
 */

export interface Example {
  /** 1-based line of the command in README.md. */
  line: number;
  command: string;
  expected: string[];
}

export interface Block {
  line: number;
  examples: Example[];
}

const SKIP = /^<!-- readme-test: skip .+ -->$/;

export function consoleBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const indent = fence[1]!.length;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (fence[2] === 'console' && !SKIP.test(previousNonEmpty(lines, i))) {
      blocks.push({ line: i + 1, examples: examplesOf(lines.slice(i + 1, end).map((l) => l.slice(indent)), i + 2) });
    }
    i = end;
  }
  return blocks;
}

function previousNonEmpty(lines: string[], i: number): string {
  for (let j = i - 1; j >= 0; j--) if (lines[j]!.trim() !== '') return lines[j]!.trim();
  return '';
}

function examplesOf(body: string[], firstLine: number): Example[] {
  const out: Example[] = [];
  for (let i = 0; i < body.length; i++) {
    if (!body[i]!.startsWith('$ ')) continue;
    const line = firstLine + i;
    let command = body[i]!.slice(2);
    while (command.endsWith('\\') && i + 1 < body.length) command = `${command.slice(0, -1)}${body[++i]}`;
    const expected: string[] = [];
    while (i + 1 < body.length && !body[i + 1]!.startsWith('$ ')) expected.push(body[++i]!);
    while (expected.length > 0 && expected.at(-1)!.trim() === '') expected.pop();
    out.push({ line, command, expected });
  }
  return out;
}

const HTTP_DATE = /\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\b/g;

export function normalise(line: string): string {
  return line
    .replace(HTTP_DATE, 'DATE')
    .replace(/(Query time: )\d+/g, '$1N')
    .replace(/^(age: )\d+/gi, '$1N')
    .replace(/(ttl=)\d+/g, '$1N')
    .replace(/\d{4,}/g, 'N')
    .replace(/\s+/g, ' ')
    .trim();
}

function lineMatches(shown: string, real: string): boolean {
  if (!shown.includes('…')) return shown === real;
  const pattern = shown.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(real);
}

/** The shown lines missing from the real output (in order); empty when it matches in substance. */
export function missingLines(expected: string[], actual: string): string[] {
  const real = actual.split('\n').map(normalise);
  let at = 0;
  const missing: string[] = [];
  for (const line of expected.map(normalise)) {
    if (line === '' || line === '...') continue;
    const found = real.findIndex((r, k) => k >= at && lineMatches(line, r));
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}
