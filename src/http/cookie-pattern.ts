/**
 * Cookie-name patterns (`_ga*`, `_gid`): names of cookies an operator says do not identify a user. Read by the
 * deployment file's validation and by the edge's cookie rule, so both refuse the same patterns.
 */

/** Why a cookie-name pattern is unusable (an RFC 9110 §5.6.2 token with `*` wildcards), or undefined. */
export function cookiePatternProblem(pattern: string): string | undefined {
  if (pattern === '' || pattern.split('').every((c) => c === '*')) return 'must name something besides "*" (to ignore every cookie, drop this setting and let origins send Cache-Control)';
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(pattern)) return 'must be a cookie name (token characters) with optional * wildcards';
  return undefined;
}
