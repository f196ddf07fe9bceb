/**
 * RFC 1035 §5.1 master-file lexer: splits a file into logical entries (one per line, or several
 * physical lines joined by parentheses), dropping comments. Escapes are kept raw inside tokens and
 * decoded by whoever knows the field's meaning (a name splits on unescaped dots, a string does not).
 */

export interface Token {
  /** Raw text with `\X` / `\DDD` escapes still in it; quotes removed from quoted strings. */
  text: string;
  quoted: boolean;
}

export interface Entry {
  /** Line where the entry starts (1-based). */
  line: number;
  /** The entry started with blank space: it reuses the previous owner name (RFC 1035 §5.1). */
  ownerBlank: boolean;
  tokens: Token[];
}

export interface LexError {
  line: number;
  reason: string;
}

const SPACE = new Set([' ', '\t', '\r']);
const DELIMITERS = new Set([' ', '\t', '\r', '\n', ';', '(', ')', '"']);

export function lexMasterFile(text: string): { entries: Entry[]; errors: LexError[] } {
  const errors: LexError[] = [];
  const entries = [...lexEntries(text, (e) => errors.push(e))];
  return { entries, errors };
}

/**
 * The entries of a master file one at a time, so that a caller can parse a large file without holding
 * every token of it (a 1M-record zone lexed at once took ~440 MB) and can pause between entries.
 * Errors go to `onError` as they are found; the entry they are in is skipped.
 */
export function* lexEntries(text: string, onError: (error: LexError) => void): Generator<Entry, void, undefined> {
  const errors = { push: onError };
  let line = 1;
  let i = 0;
  let depth = 0;
  let openedAt = 0;
  let current: Entry | undefined;
  let atLineStart = true;
  let broken = false; // an error inside this entry: drop the entry, keep lexing the next ones

  /** Ends the entry being read; returns it when it is complete and has no error. */
  const finishEntry = (): Entry | undefined => {
    const done = current && current.tokens.length > 0 && !broken ? current : undefined;
    current = undefined;
    broken = false;
    return done;
  };
  const entry = (): Entry => {
    current ??= { line, ownerBlank: false, tokens: [] };
    return current;
  };

  while (i < text.length) {
    const c = text[i]!;
    if (atLineStart) {
      atLineStart = false;
      if (depth === 0 && SPACE.has(c)) current = { line, ownerBlank: true, tokens: [] };
    }
    if (c === '\n') {
      line++;
      i++;
      atLineStart = true;
      if (depth === 0) {
        const done = finishEntry();
        if (done) yield done;
      }
      continue;
    }
    if (SPACE.has(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '(') {
      if (depth > 0) {
        errors.push({ line, reason: 'nested "(" (parentheses do not nest)' });
        broken = true;
      } else openedAt = line;
      depth++;
      entry();
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) {
        errors.push({ line, reason: 'unbalanced ")"' });
        broken = true;
      } else depth--;
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let raw = '';
      let closed = false;
      while (j < text.length) {
        const d = text[j]!;
        if (d === '\\' && j + 1 < text.length) {
          raw += d + text[j + 1];
          j += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          break;
        }
        if (d === '\n') break; // BIND rejects a quoted string running over a line end
        raw += d;
        j++;
      }
      if (!closed) {
        errors.push({ line, reason: 'unterminated quoted string' });
        broken = true;
        i = j; // resume at the newline
        continue;
      }
      entry().tokens.push({ text: raw, quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    let raw = '';
    while (j < text.length && !DELIMITERS.has(text[j]!)) {
      if (text[j] === '\\' && j + 1 < text.length && text[j + 1] !== '\n') {
        raw += text[j]! + text[j + 1]!;
        j += 2;
        continue;
      }
      raw += text[j];
      j++;
    }
    entry().tokens.push({ text: raw, quoted: false });
    i = j;
  }
  if (depth > 0) errors.push({ line: openedAt, reason: `"(" opened on line ${openedAt} is never closed` });
  else {
    const done = finishEntry();
    if (done) yield done;
  }
}

/** Decodes `\X` and `\DDD` (RFC 1035 §5.1) into bytes. Returns a reason string on a bad escape. */
export function decodeEscapes(raw: string): Buffer | string {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 92) {
      if (c > 0x7f) {
        for (const b of Buffer.from(raw[i]!, 'utf8')) out.push(b);
      } else out.push(c);
      continue;
    }
    const next = raw[i + 1];
    if (next === undefined) return 'trailing backslash';
    if (/[0-9]/.test(next)) {
      const digits = raw.slice(i + 1, i + 4);
      if (!/^[0-9]{3}$/.test(digits)) return `bad escape "\\${digits}" (\\DDD needs three digits)`;
      const value = Number(digits);
      if (value > 255) return `bad escape "\\${digits}" (greater than 255)`;
      out.push(value);
      i += 3;
    } else {
      out.push(raw.charCodeAt(i + 1));
      i += 1;
    }
  }
  return Buffer.from(out);
}
