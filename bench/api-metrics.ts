// Cache hits and misses from the API's /metrics, to report how well a scenario kept to its intent
// (get-hit all hits, get-miss all misses). The parsing is the test harness's.
import { cacheCount, scrapeMetrics } from "../local/metrics";

export interface CacheCounters {
  readonly hits: number;
  readonly misses: number;
}

export async function readCacheCounters(baseUrl: string): Promise<CacheCounters | undefined> {
  const metrics = await scrapeMetrics(baseUrl);
  const hits = cacheCount(metrics, "hit");
  const misses = cacheCount(metrics, "miss");
  return hits === undefined || misses === undefined ? undefined : { hits, misses };
}

/** Hits / (hits + misses) between two readings; null when the API exposes no such counters. */
export function hitRatio(before: CacheCounters | undefined, after: CacheCounters | undefined): number | null {
  if (before === undefined || after === undefined) return null;
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return hits + misses > 0 ? hits / (hits + misses) : null;
}
