// The API's environment contract: each variable's name, meaning, default and limits, owned here
// and nowhere else. The API parses the environment from it (config.ts); the Pulumi program renders
// the container environment for both platforms from it and takes the stack's app defaults from it
// (components/workload/api-environment.ts, config.ts at the repository root). Plain data, no
// imports, so the root package can use it without the API's dependencies.

export interface IntegerVariable {
  readonly kind: "integer";
  readonly description: string;
  readonly default: number;
  readonly min: number;
  readonly max?: number;
}

export interface DecimalVariable {
  readonly kind: "decimal";
  readonly description: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** What a text variable must hold when set: URL schemes, PEM certificates or a project id. */
export type TextFormat =
  | { readonly type: "url"; readonly protocols: readonly string[] }
  | { readonly type: "url-list"; readonly protocols: readonly string[] }
  | { readonly type: "pem-certificates" }
  | { readonly type: "project-id" };

export interface TextVariable {
  readonly kind: "text";
  readonly description: string;
  /** Unset means the behaviour the description names; a secret never has a default. */
  readonly secret: boolean;
  readonly format: TextFormat;
}

export interface ChoiceVariable<T extends string = string> {
  readonly kind: "choice";
  readonly description: string;
  readonly default: T;
  readonly values: readonly T[];
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const TRACE_EXPORTERS = ["none", "cloudtrace", "otlp"] as const;
// The OTLP exporter the API bundles sends JSON over HTTP; any other protocol would be ignored.
export const OTLP_PROTOCOLS = ["http/json"] as const;

const POSTGRES_URL: TextFormat = { type: "url", protocols: ["postgres:", "postgresql:"] };
const PEM_CERTIFICATES: TextFormat = { type: "pem-certificates" };

export const API_ENVIRONMENT = {
  PORT: {
    kind: "integer",
    description: "TCP port to listen on (all interfaces)",
    default: 8080,
    min: 0,
    max: 65535,
  },
  DATABASE_URL: {
    kind: "text",
    description: "postgres:// URL of the primary; unset: an embedded PostgreSQL is started for local use",
    secret: true,
    format: POSTGRES_URL,
  },
  DATABASE_REPLICA_URL: {
    kind: "text",
    description: "postgres:// URL of the read replica; unset: reads go to the primary",
    secret: true,
    format: POSTGRES_URL,
  },
  DATABASE_CA_CERT: {
    kind: "text",
    description:
      "PEM of the CA that signed the PostgreSQL server certificates (Cloud SQL: the instance's server CA); " +
      "set: every database connection uses TLS and verifies the server against it; unset: the URL's sslmode applies",
    secret: false,
    format: PEM_CERTIFICATES,
  },
  DATABASE_REPLICA_URLS: {
    kind: "text",
    description:
      "comma-separated postgres:// URLs of read replicas, added to DATABASE_REPLICA_URL; reads are spread across the fresh, answering ones",
    secret: true,
    format: { type: "url-list", protocols: ["postgres:", "postgresql:"] },
  },
  DATABASE_POOL_MAX: { kind: "integer", description: "connections per pool", default: 10, min: 1 },
  REDIS_URL: {
    kind: "text",
    description: "redis:// or rediss:// URL (password may be in the URL); unset: no cache",
    secret: true,
    format: { type: "url", protocols: ["redis:", "rediss:"] },
  },
  REDIS_CA_CERT: {
    kind: "text",
    description: "PEM of the server CA for rediss:// (Memorystore in-transit encryption)",
    secret: true,
    format: PEM_CERTIFICATES,
  },
  REDIS_TIMEOUT_MS: {
    kind: "integer",
    description: "longest a cache operation may take before the request goes on without Redis",
    default: 250,
    min: 1,
  },
  CACHE_TTL_SECONDS: { kind: "integer", description: "lifetime of a cached item", default: 60, min: 1 },
  MAX_IN_FLIGHT: {
    kind: "integer",
    description: "requests in flight per process above which the API answers 503 with Retry-After",
    default: 200,
    min: 1,
  },
  SHUTDOWN_DRAIN_MS: {
    kind: "integer",
    description: "how long after SIGTERM new connections are still served",
    default: 3000,
    min: 0,
  },
  SHUTDOWN_GRACE_MS: {
    kind: "integer",
    description: "longest a SIGTERM drain may take",
    default: 8000,
    min: 1,
  },
  LOG_LEVEL: { kind: "choice", description: "log level", default: "info", values: LOG_LEVELS },
  GOOGLE_CLOUD_PROJECT: {
    kind: "text",
    description: "project id; turns the log trace field into projects/<id>/traces/<trace-id>",
    secret: false,
    format: { type: "project-id" },
  },
  TRACE_EXPORTER: {
    kind: "choice",
    description: "where spans go; none loads no tracing SDK",
    default: "none",
    values: TRACE_EXPORTERS,
  },
  TRACE_SAMPLE_RATIO: {
    kind: "decimal",
    description: "share of new traces recorded; a request carrying a trace context follows its sampled flag",
    default: 0.1,
    min: 0,
    max: 1,
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    kind: "text",
    description:
      "OTLP/HTTP base URL for TRACE_EXPORTER=otlp (the exporter appends /v1/traces); unset: localhost:4318",
    secret: false,
    format: { type: "url", protocols: ["http:", "https:"] },
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    kind: "choice",
    description: "OTLP wire protocol; the API exports OTLP as JSON over HTTP only",
    default: "http/json",
    values: OTLP_PROTOCOLS,
  },
} as const satisfies Record<string, IntegerVariable | DecimalVariable | TextVariable | ChoiceVariable>;

export type ApiVariable = keyof typeof API_ENVIRONMENT;
