/**
 * Domain names between wire bytes and their presentation form. RFC 2181 §11: a label is any 1..63
 * bytes — a dot, a backslash, NUL or 0x80-0xff included — so names are byte strings, not text.
 *
 * The presentation form is the one string every layer above the wire uses (zone data, lookup keys,
 * logs): labels joined by '.', and inside a label `\.` for a dot, `\\` for a backslash and `\DDD`
 * (three decimal digits, RFC 1035 §5.1) for every byte outside printable ASCII 0x21-0x7e, as dig and
 * kdig print them. Every other byte stands for itself. So the form is pure ASCII (String#toLowerCase
 * folds exactly A-Z, which is RFC 4343's case-insensitivity), and one byte string has exactly one
 * form (lookup keys of the same name are equal). The root is '.'.
 *
 * Writing accepts any presentation text, not only this canonical form: `\X` for any character X,
 * `\DDD`, an optional trailing dot, and characters above 0x7f written as their UTF-8 bytes (as the
 * zone file lexer does). Reading is strict (RFC 1035 §4.1.4): pointers only to earlier bytes, no
 * extended label types, at most 255 bytes. Both throw `NameFormatError` on bad input; wire.ts turns
 * that into FORMERR when decoding, and into a bug report when encoding our own data.
 */

/** RFC 1035 §2.3.4: a label holds at most 63 bytes, a whole name (length bytes and root included) 255. */
export const MAX_LABEL_BYTES = 63;
export const MAX_NAME_BYTES = 255;

const DOT = 0x2e;
const BACKSLASH = 0x5c;
const ZERO = 0x30;

export class NameFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NameFormatError';
  }
}

/** True when a byte needs an escape in a label's presentation form. */
function needsEscape(b: number): boolean {
  return b <= 0x20 || b >= 0x7f || b === DOT || b === BACKSLASH;
}

/** The canonical presentation of the label in `bytes[start, end)`. */
export function escapeLabel(bytes: Buffer, start = 0, end = bytes.length): string {
  let i = start;
  while (i < end && !needsEscape(bytes[i]!)) i++;
  // Ordinary hostname labels never get past this line: one latin1 slice, no per-byte strings.
  if (i === end) return bytes.toString('latin1', start, end);
  let out = bytes.toString('latin1', start, i);
  for (; i < end; i++) {
    const b = bytes[i]!;
    if (b === DOT || b === BACKSLASH) out += '\\' + String.fromCharCode(b);
    else if (needsEscape(b)) out += '\\' + String(b).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out;
}

/** The result of reading a name: its presentation form, and the bytes it took at the read offset. */
export interface ReadName {
  name: string;
  /** Bytes consumed where reading started (a pointer counts 2, whatever it points to). */
  length: number;
}

/** Reads a (possibly compressed) name at `offset` of a message. Throws NameFormatError. */
export function readName(buf: Buffer, offset: number): ReadName {
  let name = '';
  let at = offset;
  /** Where the current run of labels starts; a pointer must point before it (so reading ends). */
  let runStart = offset;
  let length = -1;
  let wireBytes = 1; // the root byte
  for (;;) {
    if (at >= buf.length) throw new NameFormatError('name runs past the end of the message');
    const len = buf[at]!;
    if (len === 0) {
      if (length < 0) length = at + 1 - offset;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= buf.length) throw new NameFormatError('name pointer runs past the end of the message');
      const target = ((len & 0x3f) << 8) | buf[at + 1]!;
      // RFC 1035 §4.1.4: a pointer refers to a prior occurrence; strictly backwards also rules out loops.
      if (target >= runStart) throw new NameFormatError('name pointer does not point backwards');
      if (length < 0) length = at + 2 - offset;
      at = target;
      runStart = target;
      continue;
    }
    // RFC 6891 §5 retired the extended label types (0x40, 0x80).
    if (kind !== 0) throw new NameFormatError(`unknown label type 0x${kind.toString(16)}`);
    wireBytes += len + 1;
    if (wireBytes > MAX_NAME_BYTES) throw new NameFormatError(`name longer than ${MAX_NAME_BYTES} bytes`);
    if (at + 1 + len > buf.length) throw new NameFormatError('label runs past the end of the message');
    const label = escapeLabel(buf, at + 1, at + 1 + len);
    name = name === '' ? label : `${name}.${label}`;
    at += len + 1;
  }
  return { name: name === '' ? '.' : name, length };
}

function isRoot(name: string): boolean {
  return name === '.' || name === '';
}

/**
 * True when `name` has only ASCII and no backslash: its bytes are its characters, and only its dots
 * need attention. Almost every name takes this path.
 */
function isPlain(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80 || c === BACKSLASH) return false;
  }
  return true;
}

/** The wire form (uncompressed) of a presentation name. Throws NameFormatError. */
export function nameToWire(name: string): Buffer {
  const out = Buffer.allocUnsafe(MAX_NAME_BYTES + 1 + 4);
  const length = writeName(name, out, 0);
  return out.subarray(0, length);
}

/** Bytes `name` takes on the wire, uncompressed. Throws NameFormatError. */
export function nameWireLength(name: string): number {
  if (isRoot(name)) return 1;
  if (isPlain(name)) {
    const end = name.charCodeAt(name.length - 1) === DOT ? name.length - 1 : name.length;
    checkPlainLabels(name, end);
    return end + 2;
  }
  return nameToWire(name).length;
}

function checkPlainLabels(name: string, end: number): void {
  let labelStart = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || name.charCodeAt(i) === DOT) {
      const len = i - labelStart;
      if (len === 0) throw new NameFormatError(`name "${name}" has an empty label`);
      if (len > MAX_LABEL_BYTES) throw new NameFormatError(`name "${name}" has a label longer than ${MAX_LABEL_BYTES} bytes`);
      labelStart = i + 1;
    }
  }
  if (end + 2 > MAX_NAME_BYTES) throw new NameFormatError(`name "${name}" is longer than ${MAX_NAME_BYTES} bytes`);
}

/** Writes `name` uncompressed at `offset` and returns the bytes written. Throws NameFormatError. */
export function writeName(name: string, buf: Buffer, offset: number): number {
  if (isRoot(name)) {
    buf[offset] = 0;
    return 1;
  }
  if (isPlain(name)) {
    const end = name.charCodeAt(name.length - 1) === DOT ? name.length - 1 : name.length;
    checkPlainLabels(name, end);
    let lengthAt = offset;
    let w = offset + 1;
    for (let i = 0; i < end; i++) {
      const c = name.charCodeAt(i);
      if (c === DOT) {
        buf[lengthAt] = w - lengthAt - 1;
        lengthAt = w++;
      } else buf[w++] = c;
    }
    buf[lengthAt] = w - lengthAt - 1;
    buf[w++] = 0;
    return w - offset;
  }
  return writeEscapedName(name, buf, offset);
}

/** True when the name ends with a dot that is not escaped (an absolute name). */
function endsWithSeparator(name: string): boolean {
  let i = name.length - 1;
  if (name.charCodeAt(i) !== DOT) return false;
  let backslashes = 0;
  while (--i >= 0 && name.charCodeAt(i) === BACKSLASH) backslashes++;
  return backslashes % 2 === 0;
}

/** The general case: escapes and non-ASCII characters. */
function writeEscapedName(name: string, buf: Buffer, offset: number): number {
  const end = endsWithSeparator(name) ? name.length - 1 : name.length;
  let lengthAt = offset;
  let w = offset + 1;
  const closeLabel = (): void => {
    const len = w - lengthAt - 1;
    if (len === 0) throw new NameFormatError(`name "${name}" has an empty label`);
    if (len > MAX_LABEL_BYTES) throw new NameFormatError(`name "${name}" has a label longer than ${MAX_LABEL_BYTES} bytes`);
    buf[lengthAt] = len;
  };
  const put = (b: number): void => {
    // Checked per byte, before writing: a name may not run on into the rest of the caller's buffer.
    if (w - offset >= MAX_NAME_BYTES - 1) throw new NameFormatError(`name "${name}" is longer than ${MAX_NAME_BYTES} bytes`);
    buf[w++] = b;
  };
  for (let i = 0; i < end; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) {
      closeLabel();
      lengthAt = w;
      put(0); // the next label's length byte, set when it closes
    } else if (c === BACKSLASH) {
      const next = name.charCodeAt(i + 1);
      if (Number.isNaN(next) || i + 1 >= end) throw new NameFormatError(`name "${name}" ends with a lone backslash`);
      if (next >= ZERO && next <= ZERO + 9) {
        const digits = name.slice(i + 1, i + 4);
        if (!/^[0-9]{3}$/.test(digits)) throw new NameFormatError(`name "${name}": \\DDD needs three digits`);
        const value = Number(digits);
        if (value > 255) throw new NameFormatError(`name "${name}": \\${digits} is greater than 255`);
        put(value);
        i += 3;
      } else i = putCharacter(name, i + 1, put);
    } else i = putCharacter(name, i, put);
  }
  closeLabel();
  buf[w++] = 0;
  return w - offset;
}

/** Puts the character at `i` as its byte (ASCII) or UTF-8 bytes; returns the index of its last code unit. */
function putCharacter(name: string, i: number, put: (b: number) => void): number {
  const c = name.charCodeAt(i);
  if (c < 0x80) {
    put(c);
    return i;
  }
  const point = name.codePointAt(i)!;
  for (const b of Buffer.from(String.fromCodePoint(point), 'utf8')) put(b);
  return point > 0xffff ? i + 1 : i;
}
