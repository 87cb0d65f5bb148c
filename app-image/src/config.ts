import { z } from "zod";

/** Runtime configuration, read once from the environment (contract: shared/API.md and CONVENTIONS.md). */
export interface Config {
  readonly port: number;
  /** Unset: server.ts starts an embedded PostgreSQL for local use. */
  readonly databaseUrl: string | undefined;
  /** DATABASE_REPLICA_URL and DATABASE_REPLICA_URLS together, without repeats; empty: every read goes to the primary. */
  readonly databaseReplicaUrls: readonly string[];
  readonly databasePoolMax: number;
  /** Unset: the API runs without a cache. */
  readonly redisUrl: string | undefined;
  readonly redisCaCert: string | undefined;
  readonly redisTimeoutMs: number;
  readonly cacheTtlSeconds: number;
  readonly maxInFlight: number;
  readonly shutdownDrainMs: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: LogLevel;
  readonly googleCloudProject: string | undefined;
  /** Unset (TRACE_EXPORTER=none): no tracing SDK is loaded. */
  readonly tracing: TracingConfig | undefined;
}

export interface TracingConfig {
  readonly exporter: "cloudtrace" | "otlp";
  /** Share of new traces recorded; a request carrying a trace context follows its sampled flag. */
  readonly sampleRatio: number;
  /** OTLP/HTTP base URL (the exporter appends /v1/traces); unset: the exporter's default, localhost:4318. */
  readonly otlpEndpoint: string | undefined;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** A malformed variable; the message names it and states the rule. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

// An empty value counts as unset, so a manifest can blank out an optional variable.
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

function integer(min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) {
  const rule =
    max === Number.MAX_SAFE_INTEGER
      ? `must be an integer >= ${min}`
      : `must be an integer from ${min} to ${max}`;
  return optionalText.transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const value = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
    if (value >= min && value <= max) return value;
    ctx.addIssue({ code: "custom", message: rule });
    return z.NEVER;
  });
}

const DEFAULT_TRACE_SAMPLE_RATIO = 0.1;

const sampleRatio = optionalText.transform((raw, ctx) => {
  if (raw === undefined) return DEFAULT_TRACE_SAMPLE_RATIO;
  const value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (value >= 0 && value <= 1) return value;
  ctx.addIssue({ code: "custom", message: "must be a number from 0 to 1" });
  return z.NEVER;
});

function url(protocols: readonly string[]) {
  const rule = `must be a ${protocols.map((protocol) => `${protocol}//`).join(" or ")} URL`;
  return optionalText.refine((raw) => raw === undefined || protocols.includes(urlProtocol(raw)), rule);
}

/** Comma-separated URLs (spaces around the commas allowed), each of one of `protocols`. */
function urlList(protocols: readonly string[]) {
  const rule = `must be comma-separated ${protocols.map((protocol) => `${protocol}//`).join(" or ")} URLs`;
  return optionalText
    .transform((raw) => (raw === undefined ? [] : raw.split(",").map((entry) => entry.trim())))
    .refine((urls) => urls.every((entry) => protocols.includes(urlProtocol(entry))), rule);
}

function urlProtocol(raw: string): string {
  try {
    return new URL(raw).protocol;
  } catch {
    return "";
  }
}

const environment = z
  .object({
    PORT: integer(0, 8080, 65535),
    DATABASE_URL: url(["postgres:", "postgresql:"]),
    DATABASE_REPLICA_URL: url(["postgres:", "postgresql:"]),
    DATABASE_REPLICA_URLS: urlList(["postgres:", "postgresql:"]),
    DATABASE_POOL_MAX: integer(1, 10),
    REDIS_URL: url(["redis:", "rediss:"]),
    REDIS_CA_CERT: optionalText.refine(
      (pem) => pem === undefined || pem.includes("-----BEGIN CERTIFICATE-----"),
      "must be PEM text with at least one -----BEGIN CERTIFICATE----- block",
    ),
    REDIS_TIMEOUT_MS: integer(1, 250),
    CACHE_TTL_SECONDS: integer(1, 60),
    MAX_IN_FLIGHT: integer(1, 200),
    SHUTDOWN_DRAIN_MS: integer(0, 3000),
    SHUTDOWN_GRACE_MS: integer(1, 8000),
    LOG_LEVEL: optionalText
      .transform((level) => level ?? "info")
      .pipe(z.enum(["debug", "info", "warn", "error"], { error: "must be one of debug, info, warn, error" })),
    GOOGLE_CLOUD_PROJECT: optionalText.refine(
      (project) => project === undefined || /^[a-z0-9.:-]+$/.test(project),
      "must be a Google Cloud project id",
    ),
    TRACE_EXPORTER: optionalText
      .transform((exporter) => exporter ?? "none")
      .pipe(z.enum(["none", "cloudtrace", "otlp"], { error: "must be one of none, cloudtrace, otlp" })),
    TRACE_SAMPLE_RATIO: sampleRatio,
    OTEL_EXPORTER_OTLP_ENDPOINT: url(["http:", "https:"]),
    // The OTLP exporter the API bundles sends JSON over HTTP; any other protocol would be ignored.
    OTEL_EXPORTER_OTLP_PROTOCOL: optionalText.refine(
      (protocol) => protocol === undefined || protocol === "http/json",
      "must be http/json (the API exports OTLP as JSON over HTTP) or unset",
    ),
  })
  .superRefine((env, ctx) => {
    if (env.TRACE_EXPORTER === "cloudtrace" && env.GOOGLE_CLOUD_PROJECT === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["TRACE_EXPORTER"],
        message: "cloudtrace needs GOOGLE_CLOUD_PROJECT",
      });
    }
    if (env.SHUTDOWN_DRAIN_MS >= env.SHUTDOWN_GRACE_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["SHUTDOWN_DRAIN_MS"],
        message: `must be less than SHUTDOWN_GRACE_MS (${env.SHUTDOWN_GRACE_MS})`,
      });
    }
    if (
      env.REDIS_CA_CERT !== undefined &&
      env.REDIS_URL !== undefined &&
      !env.REDIS_URL.startsWith("rediss:")
    ) {
      ctx.addIssue({ code: "custom", path: ["REDIS_CA_CERT"], message: "needs a rediss:// REDIS_URL" });
    }
  });

/** Parses the environment; throws ConfigError naming the first malformed variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new ConfigError(`${String(issue?.path[0] ?? "environment")} ${issue?.message ?? "is invalid"}`);
  }
  const vars = parsed.data;
  return {
    port: vars.PORT,
    databaseUrl: vars.DATABASE_URL,
    databaseReplicaUrls: [
      ...new Set([
        ...(vars.DATABASE_REPLICA_URL === undefined ? [] : [vars.DATABASE_REPLICA_URL]),
        ...vars.DATABASE_REPLICA_URLS,
      ]),
    ],
    databasePoolMax: vars.DATABASE_POOL_MAX,
    redisUrl: vars.REDIS_URL,
    redisCaCert: vars.REDIS_CA_CERT,
    redisTimeoutMs: vars.REDIS_TIMEOUT_MS,
    cacheTtlSeconds: vars.CACHE_TTL_SECONDS,
    maxInFlight: vars.MAX_IN_FLIGHT,
    shutdownDrainMs: vars.SHUTDOWN_DRAIN_MS,
    shutdownGraceMs: vars.SHUTDOWN_GRACE_MS,
    logLevel: vars.LOG_LEVEL,
    googleCloudProject: vars.GOOGLE_CLOUD_PROJECT,
    tracing:
      vars.TRACE_EXPORTER === "none"
        ? undefined
        : {
            exporter: vars.TRACE_EXPORTER,
            sampleRatio: vars.TRACE_SAMPLE_RATIO,
            otlpEndpoint: vars.OTEL_EXPORTER_OTLP_ENDPOINT,
          },
  };
}
