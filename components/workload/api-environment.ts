// The one mapping from the stack's app settings to the API container's environment. The variable
// names are the API's own (app-image/src/environment.ts), and the GKE Deployment and the Cloud Run
// service both render from here, so the two platforms cannot drift apart. Pure: no Pulumi.
import type { ApiVariable } from "../../app-image/src/environment";
import type { StackConfig } from "../../config";

export type Platform = StackConfig["platform"];

/** App settings from the stack's `app` key (config.ts owns their defaults, taken from the API's). */
export type AppSettings = StackConfig["app"];

/** The app's secrets, one per secret environment variable; generic so it is testable without Pulumi. */
export interface AppSecrets<S> {
  readonly databaseUrl: S;
  readonly databaseReplicaUrls: S;
  readonly databaseCaCert: S;
  readonly redisUrl: S;
  readonly redisCaCert: S;
}

export const SECRET_ENV_NAMES = {
  databaseUrl: "DATABASE_URL",
  databaseReplicaUrls: "DATABASE_REPLICA_URLS",
  databaseCaCert: "DATABASE_CA_CERT",
  redisUrl: "REDIS_URL",
  redisCaCert: "REDIS_CA_CERT",
} as const satisfies { readonly [K in keyof AppSecrets<unknown>]: ApiVariable };

/** The port the API listens on, on both platforms. */
export const CONTAINER_PORT = 8080;
/** Cloud Run sends SIGKILL this long after SIGTERM; nothing the container asks for changes it. */
export const CLOUD_RUN_SIGKILL_AFTER_MS = 10_000;
/** What Cloud Run's shutdown must leave unused before SIGKILL (process exit, log flush). */
const CLOUD_RUN_EXIT_MARGIN_MS = 1_000;
/** Share of the memory limit given to V8's old space; the rest is buffers, stacks and native memory. */
const HEAP_SHARE_OF_MEMORY_LIMIT = 0.75;

export interface EnvVar {
  /** NODE_OPTIONS is Node's own, not the API's. */
  readonly name: ApiVariable | "NODE_OPTIONS";
  readonly value: string;
}

export interface SecretEnvVar<S> {
  readonly name: ApiVariable;
  readonly secret: S;
}

export interface ShutdownTiming {
  /** SHUTDOWN_DRAIN_MS: how long after SIGTERM new connections are still served. */
  readonly drainMs: number;
  /** SHUTDOWN_GRACE_MS: the longest the drain of in-flight requests may take. */
  readonly graceMs: number;
}

export interface ApiEnvironment<S> {
  readonly containerPort: number;
  /** Plain variables: nothing secret may ever be in here. */
  readonly plain: readonly EnvVar[];
  /** Variables whose value comes from a secret store at container start. */
  readonly secret: readonly SecretEnvVar<S>[];
  readonly shutdown: ShutdownTiming;
}

export interface ApiEnvironmentArgs<S> {
  readonly platform: Platform;
  /** GOOGLE_CLOUD_PROJECT: turns the log trace field into `projects/<id>/traces/<trace-id>`. */
  readonly project: string;
  readonly app: AppSettings;
  readonly secrets: AppSecrets<S>;
}

const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const BYTES_PER_UNIT: Record<string, number> = {
  "": 1,
  k: 1e3,
  Ki: 1024,
  M: 1e6,
  Mi: 1024 ** 2,
  G: 1e9,
  Gi: 1024 ** 3,
  T: 1e12,
  Ti: 1024 ** 4,
};

/** Memory quantity ("1Gi", "512Mi", "2G") in MiB; throws naming `field` when it is not one. */
export function parseMemoryMiB(quantity: string, field = "app.memory"): number {
  const match = QUANTITY.exec(quantity);
  const unit = match?.[2] ?? "";
  if (!match || unit === "m") {
    throw new Error(`\`${field}\` must be a memory quantity such as "512Mi" or "1Gi", got "${quantity}"`);
  }
  return (Number(match[1]) * BYTES_PER_UNIT[unit]) / 1024 ** 2;
}

/** CPU quantity ("1", "2", "500m") in cores; throws naming `field` when it is not one. */
export function parseCpuCores(quantity: string, field = "app.cpu"): number {
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  const cores = match ? Number(match[1]) / (match[2] ? 1000 : 1) : 0;
  if (!match || cores <= 0) {
    throw new Error(`\`${field}\` must be a CPU quantity such as "1" or "500m", got "${quantity}"`);
  }
  return cores;
}

/**
 * SHUTDOWN_DRAIN_MS and SHUTDOWN_GRACE_MS for a platform.
 * - GKE: the pod's preStop sleep runs before SIGTERM, while the load balancer deprograms the
 *   endpoint, so by SIGTERM new traffic has stopped: a short drain covers stragglers, and the
 *   stack's grace applies unchanged (terminationGracePeriodSeconds is sized from it).
 * - Cloud Run: the instance stops receiving requests before SIGTERM, and SIGKILL follows 10 s
 *   later whatever we ask, so drain + grace must end with a margin inside those 10 s.
 */
export function shutdownTiming(platform: Platform, configuredGraceMs: number): ShutdownTiming {
  if (platform === "gke") {
    return { drainMs: 2_000, graceMs: configuredGraceMs };
  }
  const drainMs = 500;
  const graceCeiling = CLOUD_RUN_SIGKILL_AFTER_MS - CLOUD_RUN_EXIT_MARGIN_MS - drainMs;
  return { drainMs, graceMs: Math.min(configuredGraceMs, graceCeiling) };
}

/** NODE_OPTIONS for a memory limit: V8 does not size its heap from the cgroup limit on its own. */
export function nodeOptionsFor(memory: string): string {
  const heapMiB = Math.floor(parseMemoryMiB(memory) * HEAP_SHARE_OF_MEMORY_LIMIT);
  return `--max-old-space-size=${heapMiB}`;
}

export function apiEnvironment<S>(args: ApiEnvironmentArgs<S>): ApiEnvironment<S> {
  const { app } = args;
  const shutdown = shutdownTiming(args.platform, app.shutdownGraceMs);
  const plain: EnvVar[] = [
    // Cloud Run reserves PORT and sets it from the container port; declaring it is an error there.
    ...(args.platform === "gke" ? [{ name: "PORT" as const, value: String(CONTAINER_PORT) }] : []),
    { name: "DATABASE_POOL_MAX", value: String(app.poolMax) },
    { name: "MAX_IN_FLIGHT", value: String(app.maxInFlight) },
    { name: "CACHE_TTL_SECONDS", value: String(app.cacheTtlSeconds) },
    { name: "SHUTDOWN_DRAIN_MS", value: String(shutdown.drainMs) },
    { name: "SHUTDOWN_GRACE_MS", value: String(shutdown.graceMs) },
    { name: "LOG_LEVEL", value: app.logLevel },
    { name: "GOOGLE_CLOUD_PROJECT", value: args.project },
    { name: "NODE_OPTIONS", value: nodeOptionsFor(app.memory) },
  ];
  const secret = (Object.keys(SECRET_ENV_NAMES) as (keyof AppSecrets<S>)[]).map((key) => ({
    name: SECRET_ENV_NAMES[key],
    secret: args.secrets[key],
  }));
  return { containerPort: CONTAINER_PORT, plain, secret, shutdown };
}
