import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { parse } from "yaml";

import { parseStackConfig, StackConfigError } from "../../config";
import { PlanError } from "../../plan/errors";
import { runPlan } from "../../plan/run";
import { rawStackConfig, STACKS } from "../../lib/stack-files";

const MINIMAL = {
  "gcp:project": "acme-items-test",
  "gcp:region": "europe-west1",
  "gcp-async-api:platform": "gke",
};

/** The dev stack file with one structured key's fields changed (JSON, as Pulumi passes it). */
function devWith(key: string, fields: Record<string, unknown>): Record<string, string> {
  const raw = rawStackConfig("dev");
  const fullKey = `gcp-async-api:${key}`;
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
    assert.equal(cfg.targetConcurrentRequests, 50000);
    assert.equal(cfg.deletionProtection, true);
    assert.deepEqual(cfg.network, {
      subnetCidr: "10.0.0.0/20",
      podsCidr: "10.4.0.0/14",
      servicesCidr: "10.8.0.0/20",
      privateServiceAccessPrefixLength: 16,
    });
    assert.deepEqual(cfg.database, {
      version: "POSTGRES_16",
      tier: "db-custom-8-32768",
      availabilityType: "REGIONAL",
      diskSizeGb: 100,
      replicaCount: 1,
      maxConnections: 1000,
      pointInTimeRecovery: true,
      backupStartTime: "02:00",
      maintenanceWindow: { day: 7, hour: 3 },
      databaseName: "items",
      userName: "items_api",
    });
    assert.deepEqual(cfg.cache, { tier: "STANDARD_HA", memorySizeGb: 5, redisVersion: "REDIS_7_2" });
    assert.deepEqual(cfg.app, {
      cpu: "1",
      memory: "1Gi",
      poolMax: 8,
      maxInFlight: 1000,
      cacheTtlSeconds: 60,
      shutdownGraceMs: 8000,
      logLevel: "info",
    });
    assert.equal(cfg.gke.maxReplicas * cfg.app.maxInFlight >= cfg.targetConcurrentRequests, true);
    assert.equal(cfg.cloudrun.publicInvoker, false, "a service is private unless a stack says otherwise");
  });

  it("agrees with Pulumi.yaml: the same keys, and the same defaults where Pulumi.yaml declares one", () => {
    const projectFile = parse(readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8")) as {
      config: Record<string, { default?: unknown }>;
    };
    const declared = Object.keys(projectFile.config).map((key) => key.replace(/^gcp-async-api:/, ""));
    const parsed = parseStackConfig(MINIMAL) as unknown as Record<string, unknown>;
    assert.deepEqual(
      declared.sort(),
      Object.keys(parsed)
        .filter((key) => key !== "gcp")
        .sort(),
    );
    for (const [key, declaration] of Object.entries(projectFile.config)) {
      if (declaration.default === undefined) continue;
      assert.equal(parsed[key.replace(/^gcp-async-api:/, "")], declaration.default, `default of ${key}`);
    }
  });

  it("keeps the fields a structured key sets and defaults the others", () => {
    const cfg = parseStackConfig({
      ...MINIMAL,
      "gcp-async-api:database": JSON.stringify({ replicaCount: 2 }),
    });
    assert.equal(cfg.database.replicaCount, 2);
    assert.equal(cfg.database.tier, "db-custom-8-32768");
  });

  it("reads scalars as the CLI passes them: strings", () => {
    const cfg = parseStackConfig({
      ...MINIMAL,
      "gcp-async-api:targetConcurrentRequests": "40000",
      "gcp-async-api:deletionProtection": "false",
    });
    assert.equal(cfg.targetConcurrentRequests, 40000);
    assert.equal(cfg.deletionProtection, false);
  });

  for (const stack of STACKS) {
    for (const platform of ["gke", "cloudrun"]) {
      it(`accepts Pulumi.${stack}.yaml with platform=${platform}`, () => {
        const cfg = parseStackConfig({ ...rawStackConfig(stack), "gcp-async-api:platform": platform });
        assert.equal(cfg.platform, platform);
      });
    }
  }

  describe("names the key and the rule of a bad value", () => {
    const cases: [string, Record<string, string | undefined>, string, string | RegExp][] = [
      [
        "a missing project",
        { ...MINIMAL, "gcp:project": undefined },
        "gcp:project",
        "is required; must be a GCP project id",
      ],
      [
        "a malformed region",
        { ...MINIMAL, "gcp:region": "Europe West" },
        "gcp:region",
        /must be a GCP region/,
      ],
      [
        "an unknown platform",
        { ...MINIMAL, "gcp-async-api:platform": "k8s" },
        "gcp-async-api:platform",
        "must be one of gke, cloudrun, both",
      ],
      [
        "a zero target",
        { ...MINIMAL, "gcp-async-api:targetConcurrentRequests": "0" },
        "gcp-async-api:targetConcurrentRequests",
        "must be an integer >= 1",
      ],
      [
        "a non-boolean deletionProtection",
        { ...MINIMAL, "gcp-async-api:deletionProtection": "maybe" },
        "gcp-async-api:deletionProtection",
        "must be true or false",
      ],
      [
        "a structured key that is not a mapping",
        { ...MINIMAL, "gcp-async-api:database": "db-custom-1-3840" },
        "gcp-async-api:database",
        "must be an object (a YAML mapping)",
      ],
      [
        "a misspelt project key",
        { ...MINIMAL, "gcp-async-api:databse": "{}" },
        "gcp-async-api:databse",
        "is not a known setting",
      ],
      [
        "a misspelt field",
        devWith("database", { replicas: 2 }),
        "gcp-async-api:database.replicas",
        "is not a known setting",
      ],
      [
        "no read replica",
        devWith("database", { replicaCount: 0 }),
        "gcp-async-api:database.replicaCount",
        "must be an integer >= 1",
      ],
      [
        "a fractional replica count",
        devWith("database", { replicaCount: 1.5 }),
        "gcp-async-api:database.replicaCount",
        "must be an integer >= 1",
      ],
      [
        "an unknown availability type",
        devWith("database", { availabilityType: "MULTI_REGION" }),
        "gcp-async-api:database.availabilityType",
        "must be one of ZONAL, REGIONAL",
      ],
      [
        "a non-Cloud SQL tier",
        devWith("database", { tier: "n2-standard-4" }),
        "gcp-async-api:database.tier",
        /must be a Cloud SQL tier/,
      ],
      [
        "a backup time that is not HH:MM",
        devWith("database", { backupStartTime: "2am" }),
        "gcp-async-api:database.backupStartTime",
        'must be "HH:MM" (UTC)',
      ],
      [
        "an eighth weekday",
        devWith("database", { maintenanceWindow: { day: 8, hour: 3 } }),
        "gcp-async-api:database.maintenanceWindow.day",
        "must be an integer from 1 to 7 (1 = Monday)",
      ],
      [
        "a prefix beyond /32",
        devWith("network", { subnetCidr: "10.0.0.0/33" }),
        "gcp-async-api:network.subnetCidr",
        'must be a canonical IPv4 CIDR such as "10.0.0.0/20"',
      ],
      [
        "a CIDR with host bits set",
        devWith("network", { podsCidr: "10.4.0.1/14" }),
        "gcp-async-api:network.podsCidr",
        'must be a canonical IPv4 CIDR such as "10.0.0.0/20"',
      ],
      [
        "a too small Private Service Access range",
        devWith("network", { privateServiceAccessPrefixLength: 28 }),
        "gcp-async-api:network.privateServiceAccessPrefixLength",
        "must be an integer from 8 to 24",
      ],
      [
        "an unknown Redis tier",
        devWith("cache", { tier: "PREMIUM" }),
        "gcp-async-api:cache.tier",
        "must be one of BASIC, STANDARD_HA",
      ],
      [
        "an unknown log level",
        devWith("app", { logLevel: "trace" }),
        "gcp-async-api:app.logLevel",
        "must be one of debug, info, warn, error",
      ],
      [
        "a shutdown grace Cloud Run would cut short",
        devWith("app", { shutdownGraceMs: 10000 }),
        "gcp-async-api:app.shutdownGraceMs",
        "must be an integer from 1 to 9999 (Cloud Run sends SIGKILL 10 s after SIGTERM)",
      ],
      [
        "a memory quantity in the wrong unit",
        devWith("app", { memory: "1GB" }),
        "gcp-async-api:app.memory",
        /must be a memory quantity/,
      ],
      [
        "an unknown release channel",
        devWith("gke", { releaseChannel: "BETA" }),
        "gcp-async-api:gke.releaseChannel",
        "must be one of RAPID, REGULAR, STABLE",
      ],
      [
        "a concurrency above Cloud Run's maximum",
        devWith("cloudrun", { concurrency: 1001 }),
        "gcp-async-api:cloudrun.concurrency",
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
        { ...devWith("gke", { maxReplicas: 1 }), "gcp-async-api:platform": "gke" },
        "gcp-async-api:gke.maxReplicas",
        "must be >= 2 so that gke.maxReplicas x app.maxInFlight (1 x 1000) covers targetConcurrentRequests (2000)",
      );
    });

    it("Cloud Run capacity: cloudrun.maxInstances x cloudrun.concurrency must cover the target", () => {
      expectConfigError(
        { ...rawStackConfig("dev"), "gcp-async-api:targetConcurrentRequests": "5000" },
        "gcp-async-api:cloudrun.maxInstances",
        /^must be >= 20 so that cloudrun.maxInstances x cloudrun.concurrency \(10 x 250\) covers/,
      );
    });

    it("only the deployed platform's capacity must cover the target", () => {
      const cfg = parseStackConfig({
        ...devWith("gke", { maxReplicas: 1 }),
        "gcp-async-api:platform": "cloudrun",
      });
      assert.equal(cfg.gke.maxReplicas, 1);
    });

    it("Cloud Run may not route more requests to an instance than the API admits", () => {
      expectConfigError(
        devWith("app", { maxInFlight: 200 }),
        "gcp-async-api:cloudrun.concurrency",
        /^must be <= app.maxInFlight \(200\)/,
      );
    });

    it("connection budget: app.poolMax x gke.maxReplicas within 90% of max_connections, even on Cloud Run", () => {
      // dev: maxConnections 100, cloudrun.maxInstances 10; platform cloudrun.
      expectConfigError(
        devWith("gke", { maxReplicas: 19 }),
        "gcp-async-api:database.maxConnections",
        "must be >= 106 so that app.poolMax x gke.maxReplicas (5 x 19 = 95) stays within 90% of it",
      );
    });

    it("connection budget: app.poolMax x cloudrun.maxInstances, even on GKE", () => {
      expectConfigError(
        { ...devWith("cloudrun", { maxInstances: 20 }), "gcp-async-api:platform": "gke" },
        "gcp-async-api:database.maxConnections",
        /app.poolMax x cloudrun.maxInstances \(5 x 20 = 100\)/,
      );
    });

    it("connection budget: exactly 90% is allowed, one connection more is not", () => {
      const atBudget = devWith("app", { poolMax: 9 }); // 9 x cloudrun.maxInstances 10 = 90 of 100
      assert.equal(parseStackConfig(atBudget).app.poolMax, 9);
      const overBudget = {
        ...atBudget,
        "gcp-async-api:database": devWith("database", { maxConnections: 99 })["gcp-async-api:database"],
      };
      expectConfigError(overBudget, "gcp-async-api:database.maxConnections", /^must be >= 100 /);
    });

    it("minimums may not exceed maximums", () => {
      expectConfigError(
        devWith("gke", { minNodes: 3 }),
        "gcp-async-api:gke.minNodes",
        "must be <= gke.maxNodes (2)",
      );
      expectConfigError(
        devWith("gke", { minReplicas: 5 }),
        "gcp-async-api:gke.minReplicas",
        "must be <= gke.maxReplicas (4)",
      );
      expectConfigError(
        devWith("cloudrun", { minInstances: 11 }),
        "gcp-async-api:cloudrun.minInstances",
        "must be <= cloudrun.maxInstances (10)",
      );
    });

    it("the subnet's ranges may not overlap", () => {
      expectConfigError(
        devWith("network", { servicesCidr: "10.0.8.0/24" }),
        "gcp-async-api:network.servicesCidr",
        "must not overlap network.subnetCidr",
      );
    });

    it("REGIONAL Cloud SQL needs point-in-time recovery", () => {
      expectConfigError(
        devWith("database", { availabilityType: "REGIONAL", pointInTimeRecovery: false }),
        "gcp-async-api:database.pointInTimeRecovery",
        "must be true when database.availabilityType is REGIONAL",
      );
    });

    it("Cloud Run serves concurrent requests only with a whole vCPU", () => {
      expectConfigError(
        devWith("app", { cpu: "500m" }),
        "gcp-async-api:app.cpu",
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
    assert.match(error.message, /gcp-async-api:platform: must be one of gke, cloudrun/);
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
      new RegExp(`gcp-async-api:gke\\.maxReplicas: must be >= ${100_000 / maxInFlight} `),
    );
  });
});
