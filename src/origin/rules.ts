/**
 * Per-path response policy: `Cache-Control` and `Surrogate-Key` chosen by glob patterns over the URL path.
 * `*` matches within one segment, `**` across segments; a pattern without `/` matches the last segment
 * (so `*.css` means every CSS file). Cache-Control: the first matching rule wins. Surrogate keys: the union of
 * every matching rule, so a file can carry a type tag and a section tag at once.
 */
export interface PathRule {
  pattern: string;
  cacheControl?: string;
  surrogateKeys?: string[];
}

export interface ResponsePolicy {
  cacheControl: string;
  surrogateKeys: string[];
}

interface CompiledRule extends PathRule {
  regex: RegExp;
  basenameOnly: boolean;
}

export const DEFAULT_CACHE_CONTROL = 'public, max-age=300';

export class PathPolicy {
  private readonly rules: CompiledRule[];

  constructor(
    rules: PathRule[],
    private readonly defaultCacheControl = DEFAULT_CACHE_CONTROL,
  ) {
    this.rules = rules.map((r) => ({ ...r, regex: globToRegExp(r.pattern), basenameOnly: !r.pattern.includes('/') }));
  }

  for(urlPath: string): ResponsePolicy {
    const base = urlPath.slice(urlPath.lastIndexOf('/') + 1);
    let cacheControl: string | undefined;
    const keys = new Set<string>();
    for (const r of this.rules) {
      if (!r.regex.test(r.basenameOnly ? base : urlPath)) continue;
      if (cacheControl === undefined && r.cacheControl !== undefined) cacheControl = r.cacheControl;
      for (const k of r.surrogateKeys ?? []) keys.add(k);
    }
    return { cacheControl: cacheControl ?? this.defaultCacheControl, surrogateKeys: [...keys] };
  }
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Parses `PATTERN=VALUE` as given on the command line (`--cache-control '*.css=max-age=86400'`). */
export function parseRuleArgument(text: string): { pattern: string; value: string } {
  const i = text.indexOf('=');
  if (i <= 0 || i === text.length - 1) throw new Error(`bad rule "${text}": expected PATTERN=VALUE`);
  return { pattern: text.slice(0, i), value: text.slice(i + 1) };
}
