import { describe, expect, it } from 'vitest';
import { ResolverMetrics } from '../../../src/dns/resolver/metrics.js';
import { createRegistry } from '../../../src/metrics.js';

async function scrapedHits(registry: ReturnType<typeof createRegistry>): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('dnscdn_resolver_cache_hits_total'));
  return Number(line?.split(' ').at(-1));
}

describe('resolver metrics', () => {
  it('shows fast-path cache hits in the scraped counter, each once, with the general path’s', async () => {
    const registry = createRegistry();
    const metrics = new ResolverMetrics(registry);
    metrics.countFastPathHit();
    metrics.countFastPathHit();
    metrics.inc('cacheHits');
    expect(metrics.snapshot().cacheHits).toBe(3);
    expect(await scrapedHits(registry)).toBe(3);
    expect(await scrapedHits(registry)).toBe(3); // a second scrape adds nothing twice
    metrics.countFastPathHit();
    expect(await scrapedHits(registry)).toBe(4);
    expect(metrics.snapshot().cacheHits).toBe(4);
  });
});
