/**
 * A typed, position-aware view of a parsed YAML document. Every accessor either returns a checked
 * value or throws a ConfigError naming the file, the line and the key path (e.g. `pools.www.cdn.test.edges[2]`),
 * so the validation code in load.ts reads as a list of rules and never handles raw YAML nodes.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { ConfigError } from '../errors.js';
import type { Problems } from './problems.js';

export class ConfigNode {
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
    readonly node: Node | null,
    /** Dotted key path from the document root; '' for the root. */
    readonly key: string,
    /** Offset to report when the node itself is absent (a missing key: the line of its parent). */
    private readonly fallbackOffset: number,
  ) {}

  get line(): number {
    const offset = this.node?.range?.[0] ?? this.fallbackOffset;
    return this.lines.linePos(offset).line;
  }

  error(reason: string): ConfigError {
    return new ConfigError({ file: this.file, line: this.line, ...(this.key ? { key: this.key } : {}) }, reason);
  }

  private child(node: Node | null, key: string): ConfigNode {
    const path = this.key === '' ? key : key.startsWith('[') ? `${this.key}${key}` : `${this.key}.${key}`;
    return new ConfigNode(this.file, this.lines, node, path, this.node?.range?.[0] ?? this.fallbackOffset);
  }

  private scalarValue(): unknown {
    if (this.node === null) return null;
    if (!isScalar(this.node)) return this.node;
    return this.node.value;
  }

  isNull(): boolean {
    return this.scalarValue() === null;
  }

  /**
   * The entries of a mapping, after refusing keys outside `allowed` (typos must not pass silently).
   * `allowed` undefined means any key (maps keyed by user names such as edges and pools). With `problems` in
   * collect mode an unknown key is recorded and skipped, so the keys after it are still checked.
   */
  entries(allowed?: readonly string[], problems?: Problems): Map<string, ConfigNode> {
    if (!isMap(this.node)) throw this.error('expected a mapping (key: value lines)');
    const out = new Map<string, ConfigNode>();
    for (const pair of this.node.items) {
      const keyNode = pair.key as Node | null;
      const name = isScalar(keyNode) ? String(keyNode.value) : undefined;
      const keyView = new ConfigNode(this.file, this.lines, keyNode, this.key, this.node.range?.[0] ?? this.fallbackOffset);
      if (name === undefined) throw keyView.error('keys must be plain strings');
      const view = this.child((pair.value as Node | null) ?? null, name);
      if (allowed && !allowed.includes(name)) {
        const unknown = new ConfigNode(this.file, this.lines, keyNode, view.key, 0).error(`unknown key "${name}" (allowed here: ${allowed.join(', ')})`);
        if (!problems) throw unknown;
        problems.report(unknown);
        continue;
      }
      out.set(name, view);
    }
    return out;
  }

  /** Fields of a mapping with a fixed set of keys; absent keys come back as null nodes (positioned at the parent). */
  fields<K extends string>(allowed: readonly K[], problems?: Problems): Record<K, ConfigNode> {
    const present = this.entries(allowed, problems);
    const out = {} as Record<K, ConfigNode>;
    for (const k of allowed) out[k] = present.get(k) ?? this.child(null, k);
    return out;
  }

  /** For keys that take several forms (a URL, a list of them, or a mapping; `false` or a map). */
  isMapping(): boolean {
    return isMap(this.node);
  }

  isList(): boolean {
    return isSeq(this.node);
  }

  present(): boolean {
    return this.node !== null && !this.isNull();
  }

  items(): ConfigNode[] {
    if (!isSeq(this.node)) throw this.error('expected a list');
    return this.node.items.map((n, i) => this.child((n as Node | null) ?? null, `[${i}]`));
  }

  /** A list, or a single scalar taken as a list of one (`listen: 127.0.0.1:53` reads naturally). */
  itemsOrOne(): ConfigNode[] {
    return isSeq(this.node) ? this.items() : [this];
  }

  string(): string {
    const v = this.scalarValue();
    if (v === null) throw this.error('is required');
    if (typeof v !== 'string') throw this.error('expected a string');
    if (v.trim() === '') throw this.error('must not be empty');
    return v;
  }

  number(range?: { min?: number; max?: number }): number {
    const v = this.scalarValue();
    if (v === null) throw this.error('is required');
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.error('expected a number');
    if (range?.min !== undefined && v < range.min) throw this.error(`${v} is below the minimum ${range.min}`);
    if (range?.max !== undefined && v > range.max) throw this.error(`${v} is above the maximum ${range.max}`);
    return v;
  }

  integer(range?: { min?: number; max?: number }): number {
    const v = this.number(range);
    if (!Number.isInteger(v)) throw this.error('expected a whole number');
    return v;
  }

  boolean(): boolean {
    const v = this.scalarValue();
    if (typeof v !== 'boolean') throw this.error('expected true or false');
    return v;
  }

  /** A scalar as text whatever YAML made of it (a port `8080` or a size `256MB`). */
  text(): string {
    const v = this.scalarValue();
    if (v === null) throw this.error('is required');
    if (typeof v !== 'string' && typeof v !== 'number') throw this.error('expected a value');
    return String(v);
  }

  /** Runs a parser on the scalar text; a parser error becomes a positioned ConfigError. */
  parse<T>(parser: (text: string) => T): T {
    const text = this.text();
    try {
      return parser(text);
    } catch (err) {
      throw this.error(err instanceof Error ? err.message : String(err));
    }
  }
}
