// A small reader for the Prometheus text exposition format, enough to find samples by concept.
import { send } from "./http";

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Metrics {
  /** Family name → declared type (counter, gauge, histogram, summary, untyped). */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Metrics {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const typeLine = /^# TYPE (\S+) (\S+)/.exec(line);
    if (typeLine !== null) {
      types.set(typeLine[1], typeLine[2]);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const match = SAMPLE_LINE.exec(line.trim());
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[3] ?? "").matchAll(LABEL)) {
      labels[key] = value.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    }
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return { types, samples };
}

export async function scrapeMetrics(baseUrl: string): Promise<Metrics> {
  const response = await send(baseUrl, "GET", "/metrics");
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${response.text}`);
  return parseMetrics(response.text);
}

/** The family a sample belongs to (histogram and counter suffixes stripped when declared so). */
export function familyOf(metrics: Metrics, sampleName: string): string | undefined {
  if (metrics.types.has(sampleName)) return sampleName;
  for (const suffix of ["_bucket", "_sum", "_count", "_total", "_created"]) {
    const base = sampleName.endsWith(suffix) ? sampleName.slice(0, -suffix.length) : undefined;
    if (base !== undefined && metrics.types.has(base)) return base;
  }
  return undefined;
}

export const typeOf = (metrics: Metrics, sampleName: string): string | undefined => {
  const family = familyOf(metrics, sampleName);
  return family === undefined ? undefined : metrics.types.get(family);
};

/**
 * Total of the cache counter for `outcome` ("hit" or "miss"): either a family named for it
 * (`cache_hits_total`) or a cache family with a label whose value is the outcome.
 */
export function cacheCount(metrics: Metrics, outcome: "hit" | "miss"): number | undefined {
  const cacheSamples = metrics.samples.filter(
    (sample) => /cache/i.test(sample.name) && typeOf(metrics, sample.name) === "counter",
  );
  const named = cacheSamples.filter((sample) =>
    new RegExp(`${outcome}(e?s)?(_total)?$`, "i").test(sample.name),
  );
  const labelled = cacheSamples.filter((sample) =>
    Object.values(sample.labels).some((value) => new RegExp(`^${outcome}(e?s)?$`, "i").test(value)),
  );
  const chosen = named.length > 0 ? named : labelled;
  return chosen.length === 0 ? undefined : chosen.reduce((sum, sample) => sum + sample.value, 0);
}
