// The stack's configuration: one zod schema for every key of Pulumi.<stack>.yaml, the only owner of
// the stack's defaults and rules, parsed before any resource is registered. Components take
// validated, required slices of its output. `parseStackConfig` is pure, so the rules are
// unit-tested without Pulumi; `loadStackConfig` feeds it from pulumi.Config.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

import { API_ENVIRONMENT, LOG_LEVELS } from "./app-image/src/environment";
import { parseCpuCores, parseMemoryMiB } from "./components/workload/api-environment";
import { findOverlap, parseCidr } from "./lib/cidr";
import { deployedQuotaRows, maxSurgeWithinPool, nodePoolShape, quotaShortfall } from "./lib/quotas";

/** The Pulumi project, and the namespace of every project config key. */
export const PROJECT_NAME = "items-api";

/** Percentage of `max_connections` the app's pools may take; Cloud SQL and operators need the rest. */
export const CONNECTION_BUDGET_PERCENT = 90;

/** A config value breaks a rule; `key` is the full config key path, e.g. `items-api:database.tier`. */
export class StackConfigError extends Error {
  override readonly name = "StackConfigError";

  constructor(
    readonly key: string,
    readonly rule: string,
  ) {
    super(`${key}: ${rule}`);
  }
}

// Every leaf states its rule once; the same text is used whether the value is missing, mistyped or out
// of range, so the error always says what a valid value looks like.
const rule = (text: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required; ${text}` : text),
});

// What the CLI stores is typed by its look, not by the key: `pulumi config set --path app.cpu 2`
// stores the number 2, `--path x true` a boolean, and a top-level `pulumi config set key 8` the
// string "8". Every leaf therefore takes the value in whichever form the CLI may have stored it.

/** A number or boolean the CLI stored for a text key, as the text the user typed. */
const asText = (value: unknown) =>
  typeof value === "number" || typeof value === "boolean" ? String(value) : value;

/** An integer stored as text ("50000"); anything that is not a clean literal is left to fail. */
const asInteger = (value: unknown) =>
  typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;

/** A boolean stored as text ("true", "false"). */
const asBoolean = (value: unknown) => (value === "true" ? true : value === "false" ? false : value);

function integer(min: number, max?: number, why = "") {
  const text =
    (max === undefined ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`) + why;
  const schema = z.number(rule(text)).int(rule(text)).min(min, rule(text));
  return z.preprocess(asInteger, max === undefined ? schema : schema.max(max, rule(text)));
}

const boolean = () => z.preprocess(asBoolean, z.boolean(rule("must be true or false")));

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(asText, z.enum(values, rule(`must be one of ${values.join(", ")}`)));
}

function matching(pattern: RegExp, text: string) {
  return z.preprocess(asText, z.string(rule(text)).regex(pattern, rule(text)));
}

const CIDR_RULE = 'must be a canonical IPv4 CIDR such as "10.0.0.0/20"';
const cidr = () =>
  matching(/^[0-9./]+$/, CIDR_RULE).refine((value) => parseCidr(value) !== undefined, rule(CIDR_RULE));

/** Structured keys arrive as JSON text from pulumi.Config; an absent key takes every field's default. */
function structured<T extends z.core.$ZodShape>(shape: T) {
  const object = z.strictObject(shape, rule("must be an object (a YAML mapping)"));
  return z.preprocess(decodeJson, object).prefault({});
}

function decodeJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Smallest memory Cloud Run's second-generation execution environment accepts. */
const CLOUD_RUN_MIN_MEMORY_MIB = 512;

/** Cloud SQL takes a /24 per instance group out of the private-service-access range, so none is smaller. */
const PRIVATE_SERVICE_ACCESS_MAX_PREFIX = 24;

const networkSchema = structured({
  subnetCidr: cidr().default("10.0.0.0/20"),
  podsCidr: cidr().default("10.4.0.0/14"),
  servicesCidr: cidr().default("10.8.0.0/20"),
  // Pinned rather than left to Google: an unpinned range is allocated while the subnet is created
  // and could land on a range GKE later takes; pinned, the overlap rule below proves it cannot.
  privateServiceAccessCidr: cidr().default("10.16.0.0/16"),
});

const DATABASE_TIER_RULE = 'must be a Cloud SQL tier such as "db-custom-2-7680" or "db-perf-optimized-N-8"';
const databaseTier = () =>
  matching(/^db-(custom-\d+-\d+|perf-optimized-N-\d+|f1-micro|g1-small)$/, DATABASE_TIER_RULE);

/** Replica names become part of instance names (`<database>-replica-<name>`), so they stay short. */
const REPLICA_NAME = /^[a-z][a-z0-9]{0,11}$/;
const REPLICA_NAME_RULE = "must be 1-12 lower-case letters and digits, starting with a letter";

const replicaSchema = z.strictObject(
  {
    /** Default: the primary's tier. */
    tier: databaseTier().optional(),
    /** Default: Cloud SQL picks a zone of the region. */
    zone: matching(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'must be a zone such as "europe-west1-b"').optional(),
  },
  rule("must be an object with optional tier and zone"),
);

const databaseSchema = structured({
  version: matching(/^POSTGRES_\d+$/, 'must be a Cloud SQL PostgreSQL version such as "POSTGRES_16"').default(
    "POSTGRES_16",
  ),
  tier: databaseTier().default("db-custom-8-32768"),
  availabilityType: oneOf(["ZONAL", "REGIONAL"]).default("REGIONAL"),
  diskSizeGb: integer(10).default(100),
  // Named, so removing one never renames another; every replica is in DATABASE_REPLICA_URLS.
  replicas: z
    .record(z.string().regex(REPLICA_NAME, REPLICA_NAME_RULE), replicaSchema, {
      error: (issue) =>
        issue.code === "invalid_key" ? REPLICA_NAME_RULE : "must be a mapping of replica names",
    })
    .refine((replicas) => Object.keys(replicas).length > 0, rule("must name at least one read replica"))
    .default({ reads: {} }),
  // Enough for the API's default pool (10) on 100 instances within the 90% budget below.
  maxConnections: integer(14, 262143).default(1200),
  pointInTimeRecovery: boolean().default(true),
  backupStartTime: matching(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be "HH:MM" (UTC)').default("02:00"),
  maintenanceWindow: z
    .strictObject(
      {
        day: integer(1, 7, " (1 = Monday)").default(7),
        hour: integer(0, 23, " (UTC)").default(3),
      },
      rule("must be an object with day and hour"),
    )
    .prefault({}),
  databaseName: matching(/^[a-z][a-z0-9_]{0,62}$/, "must be a lower-case PostgreSQL identifier").default(
    "items",
  ),
  userName: matching(/^[a-z][a-z0-9_]{0,62}$/, "must be a lower-case PostgreSQL identifier").default(
    "items_api",
  ),
});

const cacheSchema = structured({
  tier: oneOf(["BASIC", "STANDARD_HA"]).default("STANDARD_HA"),
  memorySizeGb: integer(1, 300).default(5),
  redisVersion: matching(/^REDIS_\d+_\d+$/, 'must be a Memorystore version such as "REDIS_7_2"').default(
    "REDIS_7_2",
  ),
  maintenanceWindow: z
    .strictObject(
      {
        day: oneOf(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]).default(
          "SUNDAY",
        ),
        hour: integer(0, 23, " (UTC)").default(4),
      },
      rule("must be an object with day and hour"),
    )
    .prefault({}),
});

/** An app setting that is one of the API's variables: its limits and default are the API's own. */
function apiInteger(name: "DATABASE_POOL_MAX" | "MAX_IN_FLIGHT" | "CACHE_TTL_SECONDS") {
  const variable = API_ENVIRONMENT[name];
  return integer(variable.min).default(variable.default);
}

const appSchema = structured({
  cpu: matching(/^(\d+(\.\d+)?|\d+m)$/, 'must be a CPU quantity such as "1" or "500m"').default("1"),
  memory: matching(/^\d+(Mi|Gi)$/, 'must be a memory quantity such as "512Mi" or "1Gi"').default("1Gi"),
  poolMax: apiInteger("DATABASE_POOL_MAX"),
  maxInFlight: apiInteger("MAX_IN_FLIGHT"),
  cacheTtlSeconds: apiInteger("CACHE_TTL_SECONDS"),
  // Stricter than the API's own limit: Cloud Run sends SIGKILL 10 s after SIGTERM.
  shutdownGraceMs: integer(
    API_ENVIRONMENT.SHUTDOWN_GRACE_MS.min,
    9999,
    " (Cloud Run sends SIGKILL 10 s after SIGTERM)",
  ).default(API_ENVIRONMENT.SHUTDOWN_GRACE_MS.default),
  logLevel: oneOf(LOG_LEVELS).default(API_ENVIRONMENT.LOG_LEVEL.default),
});

const gkeSchema = structured({
  regional: boolean().default(true),
  /** Zone of a zonal cluster, in gcp:region; default `<region>-b` (set in stackConfigSchema). */
  zone: matching(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'must be a GCP zone such as "europe-west1-b"').optional(),
  machineType: matching(
    /^[a-z0-9]+-[a-z0-9-]+$/,
    'must be a Compute Engine machine type such as "e2-standard-4"',
  ).default("e2-standard-4"),
  diskSizeGb: integer(10).default(50),
  minNodes: integer(0).default(1),
  maxNodes: integer(1).default(10),
  minReplicas: integer(1).default(3),
  maxReplicas: integer(1).default(60),
  /** Pods a rollout adds above the replica count; the node pool must hold maxReplicas + this. */
  rolloutMaxSurge: integer(1, 100).default(5),
  cpuTargetPercent: integer(10, 95).default(60),
  releaseChannel: oneOf(["RAPID", "REGULAR", "STABLE"]).default("REGULAR"),
  hpaMetric: oneOf(["cpu", "rps"]).default("cpu"),
  targetRpsPerPod: integer(1).default(200),
  /** Start of the daily 4-hour maintenance window. */
  maintenanceStartTime: matching(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be "HH:MM" (UTC)').default("02:00"),
  /**
   * CIDRs allowed to reach the public control-plane endpoint; none leaves it reachable from anywhere
   * but still gated by Google IAM + RBAC (CI runners have no fixed IPs).
   */
  masterAuthorizedNetworks: z
    .array(
      z.strictObject(
        {
          cidrBlock: cidr(),
          displayName: matching(/^\S.{0,79}$/, "must be a name of 1 to 80 characters"),
        },
        rule("must be a list of { cidrBlock, displayName }"),
      ),
      rule("must be a list of { cidrBlock, displayName }"),
    )
    .default([]),
  /** Namespace of the API (a fixed name: the Workload Identity member names it). */
  namespace: matching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label such as "api"').default(
    "api",
  ),
  /** Seconds a terminating pod keeps serving while the load balancer stops sending to it. */
  preStopSleepSeconds: integer(1, 60).default(15),
});

const cloudrunSchema = structured({
  minInstances: integer(0).default(1),
  maxInstances: integer(1, 1000).default(100),
  concurrency: integer(1, 1000).default(80),
  /** Anyone may invoke the service (the invoker IAM check is off); otherwise IAM-authorised callers only. */
  startupCpuBoost: boolean().default(true),
});

// Google publishes no fixed default quota for a new project (Compute Engine allocation quotas page:
// "Not all projects have the same quotas"; Cloud Run quotas page: container instances "depend on
// selected region and CPU and memory configurations"). These defaults are conservative values a new
// project commonly starts with, not documented figures: a stack states what its project was granted.
const quotasSchema = structured({
  cpus: integer(1).default(24),
  ssdTotalGb: integer(1).default(500),
  cloudRunInstances: integer(1).default(100),
  directVpcEgressInstances: integer(1).default(100),
});

/** Decimals arrive as strings from `--config key.field=0.05` (only integers and booleans are typed). */
function decodeDecimal(value: unknown): unknown {
  return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function fraction() {
  const text = "must be a number strictly between 0 and 1";
  return z.preprocess(decodeDecimal, z.number(rule(text)).gt(0, rule(text)).lt(1, rule(text)));
}

const observabilitySchema = structured({
  notificationEmail: matching(
    /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
    'must be an e-mail address such as "ops@example.com"',
  ).optional(),
  availabilityGoal: fraction().default(0.999),
  latencyGoal: fraction().default(0.999),
  latencyThresholdMs: integer(1, 60000).default(100),
  errorRatioThreshold: fraction().default(0.01),
  p99LatencyMs: integer(1, 60000).default(100),
  replicaLagSeconds: integer(1).default(30),
  connectionsRatio: fraction().default(0.8),
  redisMemoryRatio: fraction().default(0.8),
});

// ---- Edge tier (the load balancer in front of both platforms) ----

const DNS_NAME = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Windows Cloud Armor accepts for a rate-limit threshold, in seconds. */
export const RATE_LIMIT_INTERVALS = [
  10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600,
] as const;

function ratio() {
  const text = "must be a number from 0 to 1";
  return z.preprocess(decodeDecimal, z.number(rule(text)).min(0, rule(text)).max(1, rule(text)));
}

const edgeRuleSchema = z
  .strictObject(
    {
      action: oneOf(["allow", "deny"]),
      srcIpRanges: z
        .array(cidr(), rule("must be a list of IPv4 CIDRs"))
        .min(1, rule("must not be empty"))
        .optional(),
      expression: z
        .string(rule("must be a Cloud Armor expression"))
        .min(1, rule("must not be empty"))
        .optional(),
      description: z.string(rule("must be text")).optional(),
    },
    rule("must be an object with action and srcIpRanges or expression"),
  )
  .refine((value) => (value.srcIpRanges === undefined) !== (value.expression === undefined), {
    message: "must set exactly one of srcIpRanges and expression",
  });

const edgeSchema = structured({
  domain: matching(DNS_NAME, 'must be a lower-case DNS name such as "api.example.com"').optional(),
  weights: z
    .strictObject(
      { gke: integer(0, 100), cloudrun: integer(0, 100) },
      rule("must be an object with gke and cloudrun percentages"),
    )
    .optional(),
  minTlsVersion: oneOf(["TLS_1_2", "TLS_1_3"]).default("TLS_1_2"),
  rateLimit: z
    .strictObject(
      {
        requests: integer(1).default(6000),
        intervalSec: z
          .number(rule(`must be one of ${RATE_LIMIT_INTERVALS.join(", ")}`))
          .refine((value) => (RATE_LIMIT_INTERVALS as readonly number[]).includes(value), {
            message: `must be one of ${RATE_LIMIT_INTERVALS.join(", ")}`,
          })
          .default(60),
      },
      rule("must be an object with requests and intervalSec"),
    )
    .prefault({}),
  wafRules: z
    .array(
      matching(
        /^[a-z0-9]+-v\d+-(stable|canary)$/,
        'must be a preconfigured WAF rule set such as "sqli-v33-stable"',
      ),
      rule("must be a list of preconfigured WAF rule sets"),
    )
    .default([]),
  rules: z.array(edgeRuleSchema, rule("must be a list of rules")).default([]),
  logSampleRate: ratio().default(1),
});

/**
 * What each project key means, with its defaults: the schema's `.describe()`, and word for word the
 * description Pulumi.yaml declares for `pulumi config` (tests/infra/config.test.ts compares them).
 */
const DESCRIPTIONS = {
  platform:
    "Where the API runs, `gke`, `cloudrun` or `both` (traffic split by edge.weights). The data tier and the edge are identical for all three.",
  targetConcurrentRequests:
    "Concurrent requests the stack must be able to hold (required); gke.maxReplicas x app.maxInFlight (GKE) or cloudrun.maxInstances x cloudrun.concurrency (Cloud Run) must cover it, each platform alone under `both`.",
  deletionProtection:
    "Deletion protection of Cloud SQL, Memorystore, the GKE cluster and the Cloud Run service, and Pulumi protect on the data (Cloud SQL, Memorystore, private service access, secrets) (default true); on in prod, off in dev so `pulumi destroy` completes.",
  network:
    "Mapping { subnetCidr (default 10.0.0.0/20), podsCidr (default 10.4.0.0/14), servicesCidr (default 10.8.0.0/20), privateServiceAccessCidr (default 10.16.0.0/16, /24 or larger) }: the subnet's primary and secondary (GKE pods/services) ranges and the pinned Private Service Access range for Cloud SQL and Memorystore; no two may overlap.",
  database:
    "Mapping { version (default POSTGRES_16), tier (default db-custom-8-32768), availabilityType (ZONAL|REGIONAL, default REGIONAL), diskSizeGb (default 100), replicas (name -> { tier (default the primary's), zone (default any of the region) }, default { reads: {} }), maxConnections (default 1200), pointInTimeRecovery (default true), backupStartTime (HH:MM UTC, default 02:00), maintenanceWindow { day (1-7, Monday = 1, default 7), hour (0-23 UTC, default 3) }, databaseName (default items), userName (default items_api) } for Cloud SQL.",
  cache:
    "Mapping { tier (BASIC|STANDARD_HA, default STANDARD_HA), memorySizeGb (default 5), redisVersion (default REDIS_7_2), maintenanceWindow { day (MONDAY-SUNDAY, default SUNDAY), hour (0-23 UTC, default 4) } } for Memorystore.",
  app: "Mapping { cpu (default 1), memory (default 1Gi), poolMax, maxInFlight, cacheTtlSeconds, shutdownGraceMs (< 10000), logLevel (debug|info|warn|error) }: per-replica resources and the API's environment; the defaults of the last five are the API's own (DATABASE_POOL_MAX 10, MAX_IN_FLIGHT 200, CACHE_TTL_SECONDS 60, SHUTDOWN_GRACE_MS 8000, LOG_LEVEL info).",
  gke: "Mapping { regional (default true), zone (of a zonal cluster, default <region>-b), machineType (default e2-standard-4), diskSizeGb (default 50), minNodes (default 1), maxNodes (per zone, default 10), minReplicas (default 3), maxReplicas (default 60), rolloutMaxSurge (pods, default 5), cpuTargetPercent (10-95, default 60), releaseChannel (RAPID|REGULAR|STABLE, default REGULAR), hpaMetric (cpu|rps, default cpu), targetRpsPerPod (default 200), maintenanceStartTime (HH:MM UTC, default 02:00), masterAuthorizedNetworks (list of { cidrBlock, displayName }, default none), namespace (default api), preStopSleepSeconds (default 15) }: cluster, node pool and workload. With hpaMetric rps the HPA scales on requests per second per pod (Managed Prometheus through the Custom Metrics adapter).",
  cloudrun:
    "Mapping { minInstances (default 1), maxInstances (1-1000, default 100), concurrency (1-1000, default 80), startupCpuBoost (default true) }: Cloud Run service scaling; the service is reachable only through the edge.",
  observability:
    "Mapping { notificationEmail (optional; alerts open incidents without notifying when absent), availabilityGoal (default 0.999), latencyGoal (default 0.999), latencyThresholdMs (default 100), errorRatioThreshold (default 0.01), p99LatencyMs (default 100), replicaLagSeconds (default 30), connectionsRatio (default 0.8, of database.maxConnections), redisMemoryRatio (default 0.8) }: SLO goals and alert thresholds of the dashboard, SLOs and alert policies.",
  quotas:
    "Mapping { cpus (Compute Engine CPUS in gcp:region, default 24), ssdTotalGb (Compute Engine SSD_TOTAL_GB in gcp:region, default 500), cloudRunInstances (Cloud Run instances per service, default 100), directVpcEgressInstances (Cloud Run instances per revision with Direct VPC egress, default 100) }: what the project was granted (Cloud console, IAM & Admin > Quotas). Google publishes no fixed defaults for a new project; the defaults are conservative. A deployed platform needing more at full scale is refused.",
  edge: "Mapping { domain (optional; HTTPS with a Google-managed certificate, plain HTTP on the IP without it), weights { gke, cloudrun } (percentages adding up to 100, only with platform both), minTlsVersion (TLS_1_2|TLS_1_3, default TLS_1_2), rateLimit { requests (default 6000), intervalSec (default 60) } per client IP, wafRules (preconfigured Cloud Armor rule sets, default none), rules (list of { action allow|deny, srcIpRanges or expression, description }), logSampleRate (0-1, default 1) }: the load balancer in front of every platform.",
} as const;

/** What to run when gcp:project is missing. */
export const SET_PROJECT_COMMAND = "pulumi config set gcp:project <your-project-id>";
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const PROJECT_ID_RULE = "must be a GCP project id (6-30 lower-case letters, digits and hyphens)";

const stackConfigObject = z.strictObject({
  gcp: z.object({
    // No default and no example project in the stack files: a first `up` must target the user's
    // own project, never one made up here.
    project: z.preprocess(
      asText,
      z
        .string({
          error: (issue) =>
            issue.input === undefined ? `is not set: run \`${SET_PROJECT_COMMAND}\`` : PROJECT_ID_RULE,
        })
        .regex(PROJECT_ID, PROJECT_ID_RULE),
    ),
    region: matching(/^[a-z]+-[a-z]+\d+$/, 'must be a GCP region such as "europe-west1"'),
  }),
  platform: oneOf(["gke", "cloudrun", "both"]).describe(DESCRIPTIONS.platform),
  targetConcurrentRequests: integer(1).describe(DESCRIPTIONS.targetConcurrentRequests),
  deletionProtection: boolean().default(true).describe(DESCRIPTIONS.deletionProtection),
  network: networkSchema.describe(DESCRIPTIONS.network),
  database: databaseSchema.describe(DESCRIPTIONS.database),
  cache: cacheSchema.describe(DESCRIPTIONS.cache),
  app: appSchema.describe(DESCRIPTIONS.app),
  gke: gkeSchema.describe(DESCRIPTIONS.gke),
  cloudrun: cloudrunSchema.describe(DESCRIPTIONS.cloudrun),
  observability: observabilitySchema.describe(DESCRIPTIONS.observability),
  edge: edgeSchema.describe(DESCRIPTIONS.edge),
  quotas: quotasSchema.describe(DESCRIPTIONS.quotas),
});

/** The schema of each top-level key; its `description` is what Pulumi.yaml must say. */
export const STACK_CONFIG_SCHEMA_SHAPE = stackConfigObject.shape;

const stackConfigSchema = stackConfigObject
  // Cross-field rules judge only values that passed their own rules, so they can rely on them.
  .superRefine(
    (cfg, ctx) => {
      const fail = (path: string[], message: string) => ctx.addIssue({ code: "custom", path, message });
      const { app, gke, cloudrun, database } = cfg;

      if (gke.minNodes > gke.maxNodes) fail(["gke", "minNodes"], `must be <= gke.maxNodes (${gke.maxNodes})`);
      if (gke.zone !== undefined && !gke.zone.startsWith(`${cfg.gcp.region}-`)) {
        fail(["gke", "zone"], `must be a zone of gcp:region (${cfg.gcp.region})`);
      }
      if (gke.minReplicas > gke.maxReplicas) {
        fail(["gke", "minReplicas"], `must be <= gke.maxReplicas (${gke.maxReplicas})`);
      }
      if (cloudrun.minInstances > cloudrun.maxInstances) {
        fail(["cloudrun", "minInstances"], `must be <= cloudrun.maxInstances (${cloudrun.maxInstances})`);
      }
      if (cloudrun.concurrency > app.maxInFlight) {
        fail(
          ["cloudrun", "concurrency"],
          `must be <= app.maxInFlight (${app.maxInFlight}), or Cloud Run routes requests the API answers with 503`,
        );
      }
      // Cloud Run's own limits, checked on every stack because `platform` can be switched at any time.
      if (cloudrun.concurrency > 1 && parseCpuCores(app.cpu) < 1) {
        fail(
          ["app", "cpu"],
          `must be >= 1 when cloudrun.concurrency (${cloudrun.concurrency}) is above 1 (Cloud Run rule)`,
        );
      }
      if (parseMemoryMiB(app.memory) < CLOUD_RUN_MIN_MEMORY_MIB) {
        fail(
          ["app", "memory"],
          `must be at least ${CLOUD_RUN_MIN_MEMORY_MIB}Mi (Cloud Run second generation minimum)`,
        );
      }
      const overlap = findOverlap(cfg.network);
      if (overlap) fail(["network", overlap[1]], `must not overlap network.${overlap[0]}`);
      const privateServiceAccessPrefix = Number(cfg.network.privateServiceAccessCidr.split("/")[1]);
      if (privateServiceAccessPrefix > PRIVATE_SERVICE_ACCESS_MAX_PREFIX) {
        fail(
          ["network", "privateServiceAccessCidr"],
          `must be a /${PRIVATE_SERVICE_ACCESS_MAX_PREFIX} or larger (Cloud SQL allocates /24 blocks from it)`,
        );
      }
      if (database.availabilityType === "REGIONAL" && !database.pointInTimeRecovery) {
        fail(["database", "pointInTimeRecovery"], "must be true when database.availabilityType is REGIONAL");
      }
      for (const [name, replica] of Object.entries(database.replicas)) {
        if (replica.zone !== undefined && !replica.zone.startsWith(`${cfg.gcp.region}-`)) {
          fail(["database", "replicas", name, "zone"], `must be a zone of gcp:region (${cfg.gcp.region})`);
        }
      }

      const target = cfg.targetConcurrentRequests;
      // Under `both` either platform may be weighted to take all traffic, so each must hold the target.
      if (cfg.platform !== "cloudrun" && gke.maxReplicas * app.maxInFlight < target) {
        fail(
          ["gke", "maxReplicas"],
          `must be >= ${Math.ceil(target / app.maxInFlight)} so that gke.maxReplicas x app.maxInFlight ` +
            `(${gke.maxReplicas} x ${app.maxInFlight}) covers targetConcurrentRequests (${target})`,
        );
      }
      if (cfg.platform !== "gke" && cloudrun.maxInstances * cloudrun.concurrency < target) {
        fail(
          ["cloudrun", "maxInstances"],
          `must be >= ${Math.ceil(target / cloudrun.concurrency)} so that cloudrun.maxInstances x cloudrun.concurrency ` +
            `(${cloudrun.maxInstances} x ${cloudrun.concurrency}) covers targetConcurrentRequests (${target})`,
        );
      }

      // Both platforms are checked whatever is deployed: switching `platform` must never be the change
      // that exhausts PostgreSQL. Every replica carries the primary's max_connections (a hot standby
      // refuses a lower one), and the API keeps one pool per replica URL in every instance, so each
      // replica takes app.poolMax x instances, as the primary does: one check covers them all.
      const scales = [
        ["gke.maxReplicas", gke.maxReplicas],
        ["cloudrun.maxInstances", cloudrun.maxInstances],
      ] as const;
      for (const [scaleKey, maxScale] of scales) {
        const connections = app.poolMax * maxScale;
        // Integer arithmetic, so no floating-point rounding decides a case at the boundary.
        if (connections * 100 > database.maxConnections * CONNECTION_BUDGET_PERCENT) {
          fail(
            ["database", "maxConnections"],
            `must be >= ${Math.ceil((connections * 100) / CONNECTION_BUDGET_PERCENT)} so that app.poolMax x ${scaleKey} ` +
              `(${app.poolMax} x ${maxScale} = ${connections}) stays within ${CONNECTION_BUDGET_PERCENT}% of it`,
          );
        }
      }

      const { weights } = cfg.edge;
      if (cfg.platform === "both" && weights === undefined) {
        fail(["edge", "weights"], "is required when platform is both, e.g. { gke: 100, cloudrun: 0 }");
      }
      if (cfg.platform !== "both" && weights !== undefined) {
        fail(
          ["edge", "weights"],
          `must be unset when platform is ${cfg.platform} (it alone takes all traffic)`,
        );
      }
      if (weights !== undefined && weights.gke + weights.cloudrun !== 100) {
        fail(["edge", "weights"], `must add up to 100 (gke ${weights.gke} + cloudrun ${weights.cloudrun})`);
      }

      for (const row of deployedQuotaRows(cfg, cfg.quotas)) {
        if (!row.ok) fail(["quotas", row.grantKey], quotaShortfall(row));
      }
      // A rollout at peak adds rolloutMaxSurge pods to gke.maxReplicas; all must fit the pool's maximum.
      const surgeRoom = maxSurgeWithinPool(gke, nodePoolShape(cfg));
      if (cfg.platform !== "cloudrun" && gke.rolloutMaxSurge > surgeRoom) {
        fail(
          ["gke", "rolloutMaxSurge"],
          `must be <= ${surgeRoom} so that gke.maxReplicas + gke.rolloutMaxSurge (${gke.maxReplicas} + ${gke.rolloutMaxSurge}) ` +
            "pods fit the node pool at gke.maxNodes, or raise gke.maxNodes",
        );
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  )
  // Defaults that depend on another key: a zonal cluster's zone is in the stack's region, and a
  // replica without its own tier runs the primary's (components get every replica's tier).
  .transform((cfg) => ({
    ...cfg,
    gke: { ...cfg.gke, zone: cfg.gke.zone ?? `${cfg.gcp.region}-b` },
    database: {
      ...cfg.database,
      replicas: Object.fromEntries(
        Object.entries(cfg.database.replicas).map(([name, replica]) => [
          name,
          { tier: replica.tier ?? cfg.database.tier, zone: replica.zone },
        ]),
      ),
    },
  }));

export type StackConfig = z.output<typeof stackConfigSchema>;
export type Platform = StackConfig["platform"];
/** A platform the API actually runs on; `both` deploys each of them. */
export type ServingPlatform = Exclude<Platform, "both">;

/** A platform the edge sends a share of the traffic to, in percent. */
export interface PlatformShare {
  readonly platform: ServingPlatform;
  readonly weight: number;
}

/** The platforms to deploy and the edge's weight for each: one at 100, or both with `edge.weights`. */
export function trafficShares(cfg: Pick<StackConfig, "platform" | "edge">): readonly PlatformShare[] {
  if (cfg.platform !== "both") return [{ platform: cfg.platform, weight: 100 }];
  const { weights } = cfg.edge;
  if (weights === undefined)
    throw new StackConfigError(configKey(["edge", "weights"]), "is required when platform is both");
  return [
    { platform: "gke", weight: weights.gke },
    { platform: "cloudrun", weight: weights.cloudrun },
  ];
}

/** Full config key (`gcp:region`, `items-api:database.tier`) of a path in the schema. */
function configKey(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path.map(String);
  if (head === "gcp") return `gcp:${rest.join(".")}`;
  return `${PROJECT_NAME}:${[head, ...rest].join(".")}`;
}

function toStackConfigError(issue: z.core.$ZodIssue): StackConfigError {
  if (issue.code === "unrecognized_keys") {
    return new StackConfigError(configKey([...issue.path, issue.keys[0]]), "is not a known setting");
  }
  return new StackConfigError(configKey(issue.path), issue.message);
}

/**
 * Validates raw config values keyed by full config key (`gcp:project`, `items-api:platform`),
 * as strings the way Pulumi hands them to a program (structured values as JSON). Throws the first
 * broken rule as a StackConfigError.
 */
export function parseStackConfig(raw: Readonly<Record<string, string | undefined>>): StackConfig {
  const input: Record<string, unknown> = { gcp: { project: raw["gcp:project"], region: raw["gcp:region"] } };
  for (const [key, value] of Object.entries(raw)) {
    if (value !== undefined && key.startsWith(`${PROJECT_NAME}:`))
      input[key.slice(PROJECT_NAME.length + 1)] = value;
  }
  const result = stackConfigSchema.safeParse(input);
  if (!result.success) throw toStackConfigError(result.error.issues[0]);
  return result.data;
}

/** Reads the running stack's config (project keys and gcp:project/gcp:region) and validates it. */
export function loadStackConfig(): StackConfig {
  const projectConfig = new pulumi.Config();
  const gcpConfig = new pulumi.Config("gcp");
  const raw: Record<string, string | undefined> = {
    "gcp:project": gcpConfig.get("project"),
    "gcp:region": gcpConfig.get("region"),
  };
  // Every project key is passed on, so a misspelt key fails instead of being silently ignored.
  for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(`${PROJECT_NAME}:`))
      raw[fullKey] = projectConfig.get(fullKey.slice(PROJECT_NAME.length + 1));
  }
  return parseStackConfig(raw);
}
