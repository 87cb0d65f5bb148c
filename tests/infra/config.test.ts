import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { parse } from "yaml";

import { API_ENVIRONMENT } from "../../app-image/src/environment";
import {
  parseStackConfig,
  SET_PROJECT_COMMAND,
  STACK_CONFIG_SCHEMA_SHAPE,
  StackConfigError,
} from "../../config";
import { PlanError } from "../../plan/errors";
import { runPlan } from "../../plan/run";
import { rawStackConfig, STACKS } from "../../lib/stack-files";

const MINIMAL = {
  "gcp:project": "acme-items-test",
  "gcp:region": "europe-west1",
  "items-api:platform": "gke",
  // Every stack states its target; the defaults cover what gke.maxReplicas x app.maxInFlight holds.
  "items-api:targetConcurrentRequests": "12000",
  // The default node pool (30 e2-standard-4 nodes at most) needs more than a new project's
  // conservative default grants; a stack on it states what its project was granted.
  "items-api:quotas": JSON.stringify({ cpus: 120, ssdTotalGb: 1500 }),
};

/** The dev stack file with one structured key's fields changed (JSON, as Pulumi passes it). */
function devWith(key: string, fields: Record<string, unknown>): Record<string, string> {
  const raw = rawStackConfig("dev");
  const fullKey = `items-api:${key}`;
  return { ...raw, [fullKey]: JSON.stringify({ ...(JSON.parse(raw[fullKey]) as object), ...fields }) };
}

function expectConfigError(
  raw: Record<string, string | undefined>,
  key: string,
  rule: string | RegExp,
): void {
  assert.throws(
    () => parseStackConfig(raw),
    (error: unknown) => {
      assert.ok(error instanceof StackConfigError, `expected a StackConfigError, got ${String(error)}`);
      assert.equal(error.name, "StackConfigError");
      assert.equal(error.key, key, `wrong key in "${error.message}"`);
      if (typeof rule === "string") assert.equal(error.rule, rule);
      else assert.match(error.rule, rule);
      assert.equal(error.message, `${error.key}: ${error.rule}`);
      return true;
    },
  );
}

describe("stack config: parseStackConfig", () => {
  it("fills every optional key with its documented default", () => {
    const cfg = parseStackConfig(MINIMAL);
    assert.throws(() => STACK_CONFIG_SCHEMA_SHAPE.targetConcurrentRequests.parse(undefined), /is required/);
    assert.equal(cfg.deletionProtection, true);
    assert.deepEqual(cfg.network, {
      subnetCidr: "10.0.0.0/20",
      podsCidr: "10.4.0.0/14",
      servicesCidr: "10.8.0.0/20",
      privateServiceAccessCidr: "10.16.0.0/16",
    });
    assert.deepEqual(cfg.database, {
      version: "POSTGRES_16",
      tier: "db-custom-8-32768",
      availabilityType: "REGIONAL",
      diskSizeGb: 100,
      replicas: { reads: { tier: "db-custom-8-32768", zone: undefined } },
      maxConnections: 1200,
      pointInTimeRecovery: true,
      backupStartTime: "02:00",
      maintenanceWindow: { day: 7, hour: 3 },
      databaseName: "items",
      userName: "items_api",
    });
    assert.deepEqual(cfg.cache, {
      tier: "STANDARD_HA",
      memorySizeGb: 5,
      redisVersion: "REDIS_7_2",
      maintenanceWindow: { day: "SUNDAY", hour: 4 },
    });
    // The API's own defaults (app-image/src/environment.ts), not a second set.
    assert.deepEqual(cfg.app, {
      cpu: "1",
      memory: "1Gi",
      poolMax: API_ENVIRONMENT.DATABASE_POOL_MAX.default,
      maxInFlight: API_ENVIRONMENT.MAX_IN_FLIGHT.default,
      cacheTtlSeconds: API_ENVIRONMENT.CACHE_TTL_SECONDS.default,
      shutdownGraceMs: API_ENVIRONMENT.SHUTDOWN_GRACE_MS.default,
      logLevel: API_ENVIRONMENT.LOG_LEVEL.default,
    });
    assert.equal(cfg.gke.maxReplicas * cfg.app.maxInFlight >= cfg.targetConcurrentRequests, true);
  });

  it("agrees with Pulumi.yaml: the same keys, and the same defaults where Pulumi.yaml declares one", () => {
    const projectFile = parse(readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8")) as {
      config: Record<string, { default?: unknown }>;
    };
    const declared = Object.keys(projectFile.config).map((key) => key.replace(/^items-api:/, ""));
    const keys = Object.keys(STACK_CONFIG_SCHEMA_SHAPE).filter((key) => key !== "gcp");
    assert.deepEqual(declared.sort(), keys.sort());
    for (const [key, declaration] of Object.entries(projectFile.config)) {
      if (declaration.default === undefined) continue;
      const schema =
        STACK_CONFIG_SCHEMA_SHAPE[key.replace(/^items-api:/, "") as keyof typeof STACK_CONFIG_SCHEMA_SHAPE];
      assert.equal(schema.parse(undefined), declaration.default, `default of ${key}`);
    }
  });

  it("describes every key in Pulumi.yaml exactly as the schema does, defaults included", () => {
    const projectFile = parse(readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8")) as {
      config: Record<string, { description?: string }>;
    };
    const described = Object.entries(STACK_CONFIG_SCHEMA_SHAPE).map(([key, schema]) => [
      key,
      schema.description,
    ]);
    assert.deepEqual(
      Object.fromEntries(described.filter(([key]) => key !== "gcp")),
      Object.fromEntries(
        Object.entries(projectFile.config).map(([key, value]) => [
          key.replace(/^items-api:/, ""),
          value.description,
        ]),
      ),
    );
  });

  it("keeps the fields a structured key sets and defaults the others; a replica takes the primary's tier", () => {
    const cfg = parseStackConfig({
      ...MINIMAL,
      "items-api:database": JSON.stringify({
        replicas: { east: {}, west: { tier: "db-custom-2-7680", zone: "europe-west1-c" } },
      }),
    });
    assert.deepEqual(cfg.database.replicas, {
      east: { tier: "db-custom-8-32768", zone: undefined },
      west: { tier: "db-custom-2-7680", zone: "europe-west1-c" },
    });
    assert.equal(cfg.database.tier, "db-custom-8-32768");
  });

  it("stops on a missing gcp:project with the command that sets it", () => {
    expectConfigError(
      { ...MINIMAL, "gcp:project": undefined },
      "gcp:project",
      "is not set: run `pulumi config set gcp:project <your-project-id>`",
    );
    assert.equal(SET_PROJECT_COMMAND, "pulumi config set gcp:project <your-project-id>");
  });

  // `pulumi config set --path items-api:app.cpu 2` stores the number 2 (and `true` a boolean): every
  // text key must take what the CLI stores, or fail with its own rule, never "expected string".
  describe("takes what the CLI stores for a text key: a number or a boolean", () => {
    const textKeys: [string, string, unknown, string | RegExp][] = [
      ["app", "cpu", 2, ""],
      ["app", "memory", 512, /must be a memory quantity/],
      ["app", "logLevel", 1, /must be one of/],
      ["database", "version", 16, /must be a Cloud SQL PostgreSQL version/],
      ["database", "tier", 1, /must be a Cloud SQL tier/],
      ["database", "availabilityType", true, /must be one of ZONAL, REGIONAL/],
      ["database", "backupStartTime", 200, /must be "HH:MM"/],
      ["database", "databaseName", 5, /must be a lower-case PostgreSQL identifier/],
      ["database", "userName", 0, /must be a lower-case PostgreSQL identifier/],
      ["cache", "tier", 1, /must be one of BASIC, STANDARD_HA/],
      ["cache", "redisVersion", 7, /must be a Memorystore version/],
      ["network", "subnetCidr", 10, /must be a canonical IPv4 CIDR/],
      ["network", "privateServiceAccessCidr", 10, /must be a canonical IPv4 CIDR/],
      ["gke", "machineType", 4, /must be a Compute Engine machine type/],
      ["gke", "releaseChannel", 1, /must be one of RAPID/],
      ["gke", "hpaMetric", 1, /must be one of cpu, rps/],
      ["observability", "notificationEmail", 1, /must be an e-mail address/],
    ];
    for (const [key, field, value, rule] of textKeys) {
      it(`${key}.${field} = ${JSON.stringify(value)}`, () => {
        const raw = devWith(key, { [field]: value });
        if (rule === "") {
          const cfg = parseStackConfig(raw) as unknown as Record<string, Record<string, unknown>>;
          assert.equal(cfg[key][field], String(value));
        } else {
          expectConfigError(raw, `items-api:${key}.${field}`, rule);
        }
      });
    }

    it("platform = a number → its own rule; top-level numbers and booleans as the CLI passes them", () => {
      expectConfigError(
        { ...MINIMAL, "items-api:platform": "1" },
        "items-api:platform",
        "must be one of gke, cloudrun, both",
      );
      const cfg = parseStackConfig(devWith("app", { poolMax: "6", cacheTtlSeconds: 30 }));
      assert.equal(cfg.app.poolMax, 6, "an integer stored as text (--type string) is still an integer");
    });
  });

  it("reads scalars as the CLI passes them: strings", () => {
    const cfg = parseStackConfig({
      ...MINIMAL,
      "items-api:targetConcurrentRequests": "10000",
      "items-api:deletionProtection": "false",
    });
    assert.equal(cfg.targetConcurrentRequests, 10000);
    assert.equal(cfg.deletionProtection, false);
  });

  for (const stack of STACKS) {
    for (const platform of ["gke", "cloudrun"]) {
      it(`accepts Pulumi.${stack}.yaml with platform=${platform}`, () => {
        const cfg = parseStackConfig({ ...rawStackConfig(stack), "items-api:platform": platform });
        assert.equal(cfg.platform, platform);
      });
    }
  }

  describe("names the key and the rule of a bad value", () => {
    const cases: [string, Record<string, string | undefined>, string, string | RegExp][] = [
      [
        "a malformed project",
        { ...MINIMAL, "gcp:project": "Acme Items" },
        "gcp:project",
        /must be a GCP project id/,
      ],
      [
        "a malformed region",
        { ...MINIMAL, "gcp:region": "Europe West" },
        "gcp:region",
        /must be a GCP region/,
      ],
      [
        "an unknown platform",
        { ...MINIMAL, "items-api:platform": "k8s" },
        "items-api:platform",
        "must be one of gke, cloudrun, both",
      ],
      [
        "a zero target",
        { ...MINIMAL, "items-api:targetConcurrentRequests": "0" },
        "items-api:targetConcurrentRequests",
        "must be an integer >= 1",
      ],
      [
        "a non-boolean deletionProtection",
        { ...MINIMAL, "items-api:deletionProtection": "maybe" },
        "items-api:deletionProtection",
        "must be true or false",
      ],
      [
        "a structured key that is not a mapping",
        { ...MINIMAL, "items-api:database": "db-custom-1-3840" },
        "items-api:database",
        "must be an object (a YAML mapping)",
      ],
      [
        "a misspelt project key",
        { ...MINIMAL, "items-api:databse": "{}" },
        "items-api:databse",
        "is not a known setting",
      ],
      [
        "a misspelt field",
        devWith("database", { replicaCount: 2 }),
        "items-api:database.replicaCount",
        "is not a known setting",
      ],
      [
        "no read replica",
        devWith("database", { replicas: {} }),
        "items-api:database.replicas",
        "must name at least one read replica",
      ],
      [
        "a replica named by something that cannot be part of an instance name",
        devWith("database", { replicas: { Reads_1: {} } }),
        "items-api:database.replicas.Reads_1",
        /must be 1-12 lower-case letters and digits/,
      ],
      [
        "a replica with an unknown field",
        devWith("database", { replicas: { reads: { region: "us-east1" } } }),
        "items-api:database.replicas.reads.region",
        "is not a known setting",
      ],
      [
        "a replica in another region's zone",
        devWith("database", { replicas: { reads: { zone: "us-east1-b" } } }),
        "items-api:database.replicas.reads.zone",
        "must be a zone of gcp:region (europe-west1)",
      ],
      [
        "an unknown availability type",
        devWith("database", { availabilityType: "MULTI_REGION" }),
        "items-api:database.availabilityType",
        "must be one of ZONAL, REGIONAL",
      ],
      [
        "a non-Cloud SQL tier",
        devWith("database", { tier: "n2-standard-4" }),
        "items-api:database.tier",
        /must be a Cloud SQL tier/,
      ],
      [
        "a backup time that is not HH:MM",
        devWith("database", { backupStartTime: "2am" }),
        "items-api:database.backupStartTime",
        'must be "HH:MM" (UTC)',
      ],
      [
        "an eighth weekday",
        devWith("database", { maintenanceWindow: { day: 8, hour: 3 } }),
        "items-api:database.maintenanceWindow.day",
        "must be an integer from 1 to 7 (1 = Monday)",
      ],
      [
        "a prefix beyond /32",
        devWith("network", { subnetCidr: "10.0.0.0/33" }),
        "items-api:network.subnetCidr",
        'must be a canonical IPv4 CIDR such as "10.0.0.0/20"',
      ],
      [
        "a CIDR with host bits set",
        devWith("network", { podsCidr: "10.4.0.1/14" }),
        "items-api:network.podsCidr",
        'must be a canonical IPv4 CIDR such as "10.0.0.0/20"',
      ],
      [
        "a too small Private Service Access range",
        devWith("network", { privateServiceAccessCidr: "10.16.0.0/26" }),
        "items-api:network.privateServiceAccessCidr",
        "must be a /24 or larger (Cloud SQL allocates /24 blocks from it)",
      ],
      [
        "a Private Service Access range inside the GKE pod range",
        devWith("network", { privateServiceAccessCidr: "10.5.0.0/16" }),
        "items-api:network.privateServiceAccessCidr",
        "must not overlap network.podsCidr",
      ],
      [
        "an unknown Redis tier",
        devWith("cache", { tier: "PREMIUM" }),
        "items-api:cache.tier",
        "must be one of BASIC, STANDARD_HA",
      ],
      [
        "an unknown log level",
        devWith("app", { logLevel: "trace" }),
        "items-api:app.logLevel",
        "must be one of debug, info, warn, error",
      ],
      [
        "a shutdown grace Cloud Run would cut short",
        devWith("app", { shutdownGraceMs: 10000 }),
        "items-api:app.shutdownGraceMs",
        "must be an integer from 1 to 9999 (Cloud Run sends SIGKILL 10 s after SIGTERM)",
      ],
      [
        "a memory quantity in the wrong unit",
        devWith("app", { memory: "1GB" }),
        "items-api:app.memory",
        /must be a memory quantity/,
      ],
      [
        "an unknown release channel",
        devWith("gke", { releaseChannel: "BETA" }),
        "items-api:gke.releaseChannel",
        "must be one of RAPID, REGULAR, STABLE",
      ],
      [
        "a concurrency above Cloud Run's maximum",
        devWith("cloudrun", { concurrency: 1001 }),
        "items-api:cloudrun.concurrency",
        "must be an integer from 1 to 1000",
      ],
    ];
    for (const [what, raw, key, rule] of cases) {
      it(`${what} → ${key}`, () => expectConfigError(raw, key, rule));
    }
  });

  describe("cross-field rules", () => {
    it("GKE capacity: gke.maxReplicas x app.maxInFlight must cover the target", () => {
      expectConfigError(
        { ...devWith("gke", { maxReplicas: 1 }), "items-api:platform": "gke" },
        "items-api:gke.maxReplicas",
        "must be >= 2 so that gke.maxReplicas x app.maxInFlight (1 x 1000) covers targetConcurrentRequests (2000)",
      );
    });

    it("Cloud Run capacity: cloudrun.maxInstances x cloudrun.concurrency must cover the target", () => {
      expectConfigError(
        { ...rawStackConfig("dev"), "items-api:targetConcurrentRequests": "5000" },
        "items-api:cloudrun.maxInstances",
        /^must be >= 20 so that cloudrun.maxInstances x cloudrun.concurrency \(10 x 250\) covers/,
      );
    });

    it("only the deployed platform's capacity must cover the target", () => {
      const cfg = parseStackConfig({
        ...devWith("gke", { maxReplicas: 1 }),
        "items-api:platform": "cloudrun",
      });
      assert.equal(cfg.gke.maxReplicas, 1);
    });

    it("Cloud Run may not route more requests to an instance than the API admits", () => {
      expectConfigError(
        devWith("app", { maxInFlight: 200 }),
        "items-api:cloudrun.concurrency",
        /^must be <= app.maxInFlight \(200\)/,
      );
    });

    it("connection budget: app.poolMax x gke.maxReplicas within 90% of max_connections, even on Cloud Run", () => {
      // dev: maxConnections 100, cloudrun.maxInstances 10; platform cloudrun.
      expectConfigError(
        devWith("gke", { maxReplicas: 19 }),
        "items-api:database.maxConnections",
        "must be >= 106 so that app.poolMax x gke.maxReplicas (5 x 19 = 95) stays within 90% of it",
      );
    });

    it("connection budget: app.poolMax x cloudrun.maxInstances, even on GKE", () => {
      expectConfigError(
        { ...devWith("cloudrun", { maxInstances: 20 }), "items-api:platform": "gke" },
        "items-api:database.maxConnections",
        /app.poolMax x cloudrun.maxInstances \(5 x 20 = 100\)/,
      );
    });

    it("connection budget: exactly 90% is allowed, one connection more is not", () => {
      const atBudget = devWith("app", { poolMax: 9 }); // 9 x cloudrun.maxInstances 10 = 90 of 100
      assert.equal(parseStackConfig(atBudget).app.poolMax, 9);
      const overBudget = {
        ...atBudget,
        "items-api:database": devWith("database", { maxConnections: 99 })["items-api:database"],
      };
      expectConfigError(overBudget, "items-api:database.maxConnections", /^must be >= 100 /);
    });

    it("minimums may not exceed maximums", () => {
      expectConfigError(
        devWith("gke", { minNodes: 4 }),
        "items-api:gke.minNodes",
        "must be <= gke.maxNodes (3)",
      );
      expectConfigError(
        devWith("gke", { minReplicas: 5 }),
        "items-api:gke.minReplicas",
        "must be <= gke.maxReplicas (4)",
      );
      expectConfigError(
        devWith("cloudrun", { minInstances: 11 }),
        "items-api:cloudrun.minInstances",
        "must be <= cloudrun.maxInstances (10)",
      );
    });

    it("the subnet's ranges may not overlap", () => {
      expectConfigError(
        devWith("network", { servicesCidr: "10.0.8.0/24" }),
        "items-api:network.servicesCidr",
        "must not overlap network.subnetCidr",
      );
    });

    it("REGIONAL Cloud SQL needs point-in-time recovery", () => {
      expectConfigError(
        devWith("database", { availabilityType: "REGIONAL", pointInTimeRecovery: false }),
        "items-api:database.pointInTimeRecovery",
        "must be true when database.availabilityType is REGIONAL",
      );
    });

    it("Cloud Run serves concurrent requests only with a whole vCPU", () => {
      expectConfigError(
        devWith("app", { cpu: "500m" }),
        "items-api:app.cpu",
        /^must be >= 1 when cloudrun.concurrency/,
      );
    });
  });
});

describe("stack config: the program stops before registering anything", () => {
  it("a bad value exits 2 naming the key and the rule, with no resource registered", async () => {
    const error = await runPlan({ stack: "dev", overrides: { platform: "k8s" } }).then(
      () => assert.fail("the plan succeeded with platform=k8s"),
      (planError: unknown) => planError,
    );
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /items-api:platform: must be one of gke, cloudrun/);
  });

  it("a broken cross-field rule fails the same way", async () => {
    const error = await runPlan({ stack: "prod", overrides: { targetConcurrentRequests: "100000" } }).then(
      () => assert.fail("the plan succeeded with a target no platform setting covers"),
      (planError: unknown) => planError,
    );
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    const { maxInFlight } = parseStackConfig(rawStackConfig("prod")).app;
    assert.match(
      error.message,
      new RegExp(`items-api:gke\\.maxReplicas: must be >= ${100_000 / maxInFlight} `),
    );
  });
});

describe("stack config: quotas and rollout fit", () => {
  // The prod stack with its GKE pool pinned (40 nodes per zone, 354 replicas), so the figures below
  // stay hand-checkable when prod is re-sized: 40 x 3 zones = 120 nodes x 4 vCPUs = 480, x 50 GB = 6000.
  const pinnedProd = (): Record<string, string> => {
    const raw = rawStackConfig("prod");
    const gke = { ...(JSON.parse(raw["items-api:gke"]) as object), maxNodes: 40, maxReplicas: 354 };
    return { ...raw, "items-api:gke": JSON.stringify(gke) };
  };
  const prodWith = (overrides: Record<string, string>) => ({ ...pinnedProd(), ...overrides });
  const prodQuotas = (fields: Record<string, number>) => {
    const raw = rawStackConfig("prod");
    return JSON.stringify({ ...(JSON.parse(raw["items-api:quotas"]) as object), ...fields });
  };
  const increase = /request an increase at Cloud console > IAM & Admin > Quotas/;

  it("refuses a GKE stack that needs more CPUS than granted", () => {
    expectConfigError(
      prodWith({ "items-api:quotas": prodQuotas({ cpus: 24 }) }),
      "items-api:quotas.cpus",
      /the stack on gke needs 480 CPUS in europe-west1, the project is granted 24: request an increase at .*then set quotas\.cpus/,
    );
  });

  it("refuses a GKE stack that needs more SSD_TOTAL_GB than granted", () => {
    expectConfigError(
      prodWith({ "items-api:quotas": prodQuotas({ ssdTotalGb: 500 }) }),
      "items-api:quotas.ssdTotalGb",
      /needs 6000 SSD_TOTAL_GB in europe-west1, the project is granted 500/,
    );
  });

  it("refuses a Cloud Run stack above its instance grants, and only checks deployed platforms", () => {
    const cloudrun = { "items-api:platform": "cloudrun" };
    expectConfigError(
      prodWith({ ...cloudrun, "items-api:quotas": prodQuotas({ cloudRunInstances: 100 }) }),
      "items-api:quotas.cloudRunInstances",
      increase,
    );
    expectConfigError(
      prodWith({ ...cloudrun, "items-api:quotas": prodQuotas({ directVpcEgressInstances: 100 }) }),
      "items-api:quotas.directVpcEgressInstances",
      /needs 417 .*granted 100/,
    );
    // GKE grants do not matter while only Cloud Run is deployed.
    assert.equal(
      parseStackConfig(
        prodWith({ ...cloudrun, "items-api:quotas": prodQuotas({ cpus: 24, ssdTotalGb: 500 }) }),
      ).platform,
      "cloudrun",
    );
  });

  it("refuses a rollout at peak that does not fit the node pool's maximum", () => {
    // 40 nodes x 3 zones x 3 pods = 360 pods; 354 replicas leave room for a surge of 6.
    const raw = pinnedProd();
    const gke = (surge: number) =>
      JSON.stringify({ ...(JSON.parse(raw["items-api:gke"]) as object), rolloutMaxSurge: surge });
    assert.equal(parseStackConfig({ ...raw, "items-api:gke": gke(6) }).gke.rolloutMaxSurge, 6);
    expectConfigError(
      { ...raw, "items-api:gke": gke(7) },
      "items-api:gke.rolloutMaxSurge",
      /must be <= 6 so that gke.maxReplicas \+ gke.rolloutMaxSurge \(354 \+ 7\) pods fit/,
    );
  });
});
