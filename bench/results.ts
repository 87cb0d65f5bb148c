// The shape of bench/results.json: written by `npm run bench`, read by `npm run capacity`.
import { z } from "zod";

export const latencySchema = z.object({
  mean: z.number(),
  p50: z.number(),
  p90: z.number(),
  p99: z.number(),
  p99_9: z.number(),
  max: z.number(),
});
export type Latency = z.infer<typeof latencySchema>;

/** What one load run measured, on the client side and on the server process. */
export const loadFiguresSchema = z.object({
  connections: z.number().int().positive(),
  durationSeconds: z.number().positive(),
  /** Responses of any status. */
  requests: z.number().int().nonnegative(),
  /** 2xx responses per second (goodput). */
  rps: z.number().nonnegative(),
  latencyMs: latencySchema,
  /** Connection errors and timeouts. */
  errors: z.number().int().nonnegative(),
  timeouts: z.number().int().nonnegative(),
  non2xx: z.number().int().nonnegative(),
  statusCodes: z.record(z.string(), z.number()),
  server: z.object({
    /** user + system CPU seconds of the server process during the measured window. */
    cpuSeconds: z.number().nonnegative(),
    /** cpuSeconds / duration: 1.0 is one vCPU fully used. */
    cpuUtilization: z.number().nonnegative(),
    /** Highest resident set size sampled during the window (every 250 ms). */
    peakRssMiB: z.number().nonnegative(),
  }),
});
export type LoadFigures = z.infer<typeof loadFiguresSchema>;

export const slaVerdictSchema = z.object({
  /** Which bound applies: "GET", "POST" or "PUT". */
  bound: z.enum(["GET", "POST", "PUT"]),
  limitMs: z.number().positive(),
  verdict: z.enum(["PASS", "FAIL"]),
  reason: z.string(),
});
export type SlaVerdict = z.infer<typeof slaVerdictSchema>;

export const scenarioResultSchema = loadFiguresSchema.extend({
  name: z.string(),
  description: z.string(),
  /** Share of GETs served from Redis, from the API's /metrics counters; null when not measurable. */
  cacheHitRatio: z.number().min(0).max(1).nullable(),
  /** rps of this scenario / rps of the bare node:http baseline. */
  apiToBareRps: z.number().nullable(),
  /** Server CPU per response (user + system, from /proc), in microseconds. */
  cpuMicrosPerRequest: z.number().nonnegative().optional(),
  /** The bare node:http server under this scenario's request shape, measured in the same run. */
  bare: z
    .object({ shape: z.string(), cpuMicrosPerRequest: z.number().nonnegative(), rps: z.number() })
    .nullable()
    .optional(),
  /** cpuMicrosPerRequest / bare.cpuMicrosPerRequest: what one request of the API costs in bare requests. */
  cpuToBare: z.number().nullable().optional(),
  /**
   * The floor server (bench/floor-server.ts: node:http plus the API's storage code, nothing else)
   * under this same scenario, measured in the same run: what the scenario's round trips cost alone.
   */
  floor: z
    .object({
      cpuMicrosPerRequest: z.number().nonnegative(),
      rps: z.number(),
      cpuToBare: z.number().nullable(),
    })
    .nullable()
    .optional(),
  /**
   * CPU µs per response of each interleaved round (bench/rounds.ts), per server: how far the round
   * to round spread reaches, next to the pooled figures above.
   */
  cpuMicrosPerRound: z
    .object({ api: z.array(z.number()), floor: z.array(z.number()), bare: z.array(z.number()) })
    .optional(),
  /** PostgreSQL client connections busy (not idle), sampled every 250 ms; null when not sampled. */
  database: z
    .object({
      primaryMean: z.number(),
      primaryMax: z.number(),
      replicaMean: z.number(),
      replicaMax: z.number(),
    })
    .nullable(),
  sla: slaVerdictSchema,
});
export type ScenarioResult = z.infer<typeof scenarioResultSchema>;

export const benchResultsSchema = z.object({
  machine: z.object({
    cpus: z.number().int().positive(),
    cpuModel: z.string(),
    memoryGiB: z.number(),
    node: z.string(),
    os: z.string(),
    date: z.string(),
    /** 1, 5 and 15 minute load averages before the run: anything else running skews the figures. */
    loadAverageAtStart: z.array(z.number()),
  }),
  settings: z.object({
    quick: z.boolean(),
    connections: z.number().int().positive(),
    durationSeconds: z.number().positive(),
    warmupSeconds: z.number().nonnegative(),
    /** The measured seconds are split into this many rounds, the servers taking turns (bench/rounds.ts). */
    rounds: z.number().int().positive(),
    seedItems: z.number().int().positive(),
    hitPoolItems: z.number().int().positive(),
    /** CPU the API and the baseline were pinned to, or null when they shared every CPU. */
    serverCpu: z.number().int().nullable(),
    /** CPU the load generator, PostgreSQL and Redis ran on, or null. */
    loadCpu: z.number().int().nullable(),
    apiEnv: z.record(z.string(), z.string()),
    notes: z.array(z.string()),
  }),
  scenarios: z.array(scenarioResultSchema),
  baseline: loadFiguresSchema.extend({ description: z.string() }).nullable(),
  startup: z.object({
    /** Milliseconds from spawn to the first 200 on /readyz, one per start. */
    readyMs: z.array(z.number()),
    medianReadyMs: z.number(),
    /** Median milliseconds of each start-up step, as the API logs them ("listening" line). */
    medianStepsMs: z.record(z.string(), z.number()).optional(),
    /** Median spawn-to-first-200 of the bare node:http server, timed next to each API start. */
    bareMedianReadyMs: z.number().optional(),
  }),
  footprint: z.object({
    idleRssMiB: z.number(),
    peakRssUnderLoadMiB: z.number(),
    /** du of the runtime stage's files (dependencies + dist), without the base image; null when skipped. */
    imageAppLayerMiB: z.number().nullable(),
    imageBase: z.string().nullable(),
    imageNote: z.string(),
  }),
  totalSeconds: z.number(),
});
export type BenchResults = z.infer<typeof benchResultsSchema>;
