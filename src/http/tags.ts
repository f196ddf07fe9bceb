/**
 * Purge tags of a response: `Surrogate-Key` (space separated, Fastly/Akamai) and `Cache-Tag` (comma
 * separated, Cloudflare). One parser for the edge's tag index and the journal's live-object view, so a tag
 * purge selects the same objects in both. Bounded, because an origin's headers must not grow an index
 * without limit: at most 64 tags per object, each at most 256 bytes (longer ones are dropped).
 */
export const MAX_TAGS_PER_OBJECT = 64;
export const MAX_TAG_LENGTH = 256;

export function parseTags(surrogateKey: string | undefined, cacheTag: string | undefined): string[] {
  const tags = new Set<string>();
  for (const t of (surrogateKey ?? '').split(/\s+/)) if (t) tags.add(t);
  for (const t of (cacheTag ?? '').split(',')) if (t.trim()) tags.add(t.trim());
  return [...tags].filter((t) => t.length <= MAX_TAG_LENGTH).slice(0, MAX_TAGS_PER_OBJECT);
}

/** A tag as a purge names it: 1-256 bytes, no whitespace or comma (it could never have been parsed). */
export function isPurgeableTag(tag: string): boolean {
  return tag.length >= 1 && tag.length <= MAX_TAG_LENGTH && !/[\s,]/.test(tag);
}
