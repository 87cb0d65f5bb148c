import { X509Certificate } from "node:crypto";
import { z } from "zod";
import { urlTlsParameters } from "./database-tls";
import {
  API_ENVIRONMENT,
  type ChoiceVariable,
  type DecimalVariable,
  type IntegerVariable,
  type LogLevel,
  type TextFormat,
  type TextVariable,
} from "./environment";

export type { LogLevel } from "./environment";

/** Runtime configuration, read once from the environment (variables: environment.ts). */
export interface Config {
  readonly port: number;
  /** Unset: server.ts starts an embedded PostgreSQL for local use. */
  readonly databaseUrl: string | undefined;
  /** DATABASE_REPLICA_URL and DATABASE_REPLICA_URLS together, without repeats; empty: every read goes to the primary. */
  readonly databaseReplicaUrls: readonly string[];
  /** Set: TLS to every database server, verified against this CA (database.ts). */
  readonly databaseCaCert: string | undefined;
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

/** A malformed variable; the message names it and states the rule. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

// An empty value counts as unset, so a manifest can blank out an optional variable.
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

function integer({ min, max = Number.MAX_SAFE_INTEGER, default: fallback }: IntegerVariable) {
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

function decimal({ min, max, default: fallback }: DecimalVariable) {
  return optionalText.transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (value >= min && value <= max) return value;
    ctx.addIssue({ code: "custom", message: `must be a number from ${min} to ${max}` });
    return z.NEVER;
  });
}

function choice<T extends string>({ values, default: fallback }: ChoiceVariable<T>) {
  return optionalText
    .transform((raw) => raw ?? fallback)
    .pipe(z.enum(values as readonly [T, ...T[]], { error: `must be one of ${values.join(", ")}` }));
}

/** The entries of a comma-separated list, blanks around commas ignored. */
function splitList(raw: string): string[] {
  return raw.split(",").map((entry) => entry.trim());
}

/** Every replica URL, DATABASE_REPLICA_URL (contract v1) first, each once. */
function replicaUrls(vars: Environment): string[] {
  const listed = vars.DATABASE_REPLICA_URLS === undefined ? [] : splitList(vars.DATABASE_REPLICA_URLS);
  return [
    ...new Set([...(vars.DATABASE_REPLICA_URL === undefined ? [] : [vars.DATABASE_REPLICA_URL]), ...listed]),
  ];
}

function urlProtocol(raw: string): string {
  try {
    return new URL(raw).protocol;
  } catch {
    return "";
  }
}

const PEM_CERTIFICATE_BLOCK = "-----BEGIN CERTIFICATE-----";
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** One or more PEM certificates, each of which parses as X.509. */
function isPemCertificates(raw: string): boolean {
  const blocks = raw.match(PEM_CERTIFICATE) ?? [];
  return (
    blocks.length > 0 &&
    blocks.length === raw.split(PEM_CERTIFICATE_BLOCK).length - 1 &&
    blocks.every((block) => {
      try {
        new X509Certificate(block);
        return true;
      } catch {
        return false;
      }
    })
  );
}

/** The check a set text variable must pass, and the rule its error message states. */
function formatRule(format: TextFormat): readonly [check: (raw: string) => boolean, rule: string] {
  switch (format.type) {
    case "url":
      return [
        (raw) => format.protocols.includes(urlProtocol(raw)),
        `must be a ${format.protocols.map((protocol) => `${protocol}//`).join(" or ")} URL`,
      ];
    case "url-list":
      return [
        (raw) => splitList(raw).every((entry) => format.protocols.includes(urlProtocol(entry))),
        `must be comma-separated ${format.protocols.map((protocol) => `${protocol}//`).join(" or ")} URLs`,
      ];
    case "pem-certificates":
      return [
        isPemCertificates,
        `must be PEM text of one or more X.509 certificates (${PEM_CERTIFICATE_BLOCK} blocks)`,
      ];
    case "project-id":
      return [(raw) => /^[a-z0-9.:-]+$/.test(raw), "must be a Google Cloud project id"];
  }
}

function text({ format }: TextVariable) {
  const [check, rule] = formatRule(format);
  return optionalText.refine((raw) => raw === undefined || check(raw), rule);
}

type Variable = IntegerVariable | DecimalVariable | TextVariable | ChoiceVariable;

function schemaOf(variable: Variable): z.ZodType<unknown, string | undefined> {
  switch (variable.kind) {
    case "integer":
      return integer(variable);
    case "decimal":
      return decimal(variable);
    case "choice":
      return choice(variable);
    case "text":
      return text(variable);
  }
}

type ValueOf<V> = V extends IntegerVariable | DecimalVariable
  ? number
  : V extends ChoiceVariable<infer T>
    ? T
    : string | undefined;

/** The parsed environment: one field per variable of environment.ts, with its type. */
type Environment = {
  readonly [Name in keyof typeof API_ENVIRONMENT]: ValueOf<(typeof API_ENVIRONMENT)[Name]>;
};

const environment = z
  .object(
    Object.fromEntries(
      Object.entries(API_ENVIRONMENT).map(([name, variable]: [string, Variable]) => [
        name,
        schemaOf(variable),
      ]),
    ),
  )
  .transform((parsed) => parsed as Environment)
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
    if (env.DATABASE_CA_CERT !== undefined && env.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_CA_CERT"],
        message: "needs a DATABASE_URL (the embedded PostgreSQL has no TLS)",
      });
    }
    const databaseUrls = [
      ["DATABASE_URL", env.DATABASE_URL],
      ["DATABASE_REPLICA_URL", env.DATABASE_REPLICA_URL],
      ...(env.DATABASE_REPLICA_URLS === undefined ? [] : splitList(env.DATABASE_REPLICA_URLS)).map(
        (url) => ["DATABASE_REPLICA_URLS", url] as const,
      ),
    ] as const;
    for (const [name, url] of databaseUrls) {
      const overriding = env.DATABASE_CA_CERT !== undefined && url !== undefined ? urlTlsParameters(url) : [];
      if (overriding.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["DATABASE_CA_CERT"],
          message: `sets TLS for the database, so ${name} must not carry ${overriding.join(", ")}`,
        });
      }
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
    databaseReplicaUrls: replicaUrls(vars),
    databaseCaCert: vars.DATABASE_CA_CERT,
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
