import { strict as assert } from "node:assert";

import { API_ENVIRONMENT } from "../../app-image/src/environment";
import {
  apiEnvironment,
  nodeOptionsFor,
  parseCpuCores,
  parseMemoryMiB,
  shutdownTiming,
  CLOUD_RUN_SIGKILL_AFTER_MS,
  type AppSettings,
} from "../../components/workload/api-environment";

const app: AppSettings = {
  cpu: "1",
  memory: "1Gi",
  poolMax: 12,
  maxInFlight: 900,
  cacheTtlSeconds: 45,
  shutdownGraceMs: 8000,
  logLevel: "warn",
};
const secrets = {
  databaseUrl: "secret:db",
  databaseReplicaUrls: "secret:replicas",
  databaseCaCert: "secret:db-ca",
  redisUrl: "secret:redis",
  redisCaCert: "secret:ca",
};

function plainEnv(platform: "gke" | "cloudrun", settings: AppSettings = app): Record<string, string> {
  const env = apiEnvironment({ platform, project: "acme-prod", app: settings, secrets });
  return Object.fromEntries(env.plain.map(({ name, value }) => [name, value]));
}

describe("api-environment", () => {
  it("maps every app setting to the variable the API reads", () => {
    const env = plainEnv("gke");
    assert.deepEqual(env, {
      PORT: "8080",
      DATABASE_POOL_MAX: "12",
      MAX_IN_FLIGHT: "900",
      CACHE_TTL_SECONDS: "45",
      SHUTDOWN_DRAIN_MS: "2000",
      SHUTDOWN_GRACE_MS: "8000",
      LOG_LEVEL: "warn",
      GOOGLE_CLOUD_PROJECT: "acme-prod",
      NODE_OPTIONS: "--max-old-space-size=768",
    });
  });

  it("lists each secret variable with its own secret and never as a plain value", () => {
    for (const platform of ["gke", "cloudrun"] as const) {
      const env = apiEnvironment({ platform, project: "p", app, secrets });
      assert.deepEqual(
        env.secret.map(({ name, secret }) => [name, secret]),
        [
          ["DATABASE_URL", "secret:db"],
          ["DATABASE_REPLICA_URLS", "secret:replicas"],
          ["DATABASE_CA_CERT", "secret:db-ca"],
          ["REDIS_URL", "secret:redis"],
          ["REDIS_CA_CERT", "secret:ca"],
        ],
      );
      const plainNames = env.plain.map(({ name }) => name);
      for (const { name } of env.secret) {
        assert.ok(!plainNames.includes(name), `${name} must not be a plain variable on ${platform}`);
      }
      assert.ok(!env.plain.some(({ value }) => value.startsWith("secret:")), `no secret value in plain env`);
    }
  });

  it("renders only variables the API declares (NODE_OPTIONS is Node's own)", () => {
    for (const platform of ["gke", "cloudrun"] as const) {
      const names = apiEnvironment({ platform, project: "p", app, secrets }).plain.map(({ name }) => name);
      assert.deepEqual(
        names.filter((name) => name !== "NODE_OPTIONS" && !(name in API_ENVIRONMENT)),
        [],
        platform,
      );
    }
  });

  it("leaves PORT to Cloud Run, which reserves it, and serves on the same container port", () => {
    const env = apiEnvironment({ platform: "cloudrun", project: "p", app, secrets });
    assert.equal(env.containerPort, 8080);
    assert.ok(!env.plain.some(({ name }) => name === "PORT"));
  });

  it("keeps Cloud Run's drain plus grace inside the 10 s before SIGKILL, whatever the stack asks", () => {
    for (const graceMs of [1000, 8000, 9000, 30000]) {
      const timing = shutdownTiming("cloudrun", graceMs);
      assert.ok(timing.drainMs + timing.graceMs < CLOUD_RUN_SIGKILL_AFTER_MS, `grace ${graceMs}`);
      assert.ok(timing.graceMs <= graceMs);
    }
    assert.equal(shutdownTiming("cloudrun", 3000).graceMs, 3000);
    const env = plainEnv("cloudrun", { ...app, shutdownGraceMs: 30000 });
    assert.equal(
      Number(env.SHUTDOWN_DRAIN_MS) + Number(env.SHUTDOWN_GRACE_MS) < CLOUD_RUN_SIGKILL_AFTER_MS,
      true,
    );
  });

  it("keeps the stack's grace on GKE, where the preStop sleep precedes SIGTERM, with a short drain", () => {
    const timing = shutdownTiming("gke", 25000);
    assert.equal(timing.graceMs, 25000);
    assert.ok(timing.drainMs <= 3000);
  });

  it("sizes the V8 heap at three quarters of the memory limit", () => {
    assert.equal(nodeOptionsFor("1Gi"), "--max-old-space-size=768");
    assert.equal(nodeOptionsFor("512Mi"), "--max-old-space-size=384");
    assert.equal(nodeOptionsFor("2G"), `--max-old-space-size=${Math.floor((2e9 / 1024 ** 2) * 0.75)}`);
  });

  it("parses quantities and names the field when one is malformed", () => {
    assert.equal(parseMemoryMiB("1.5Gi"), 1536);
    assert.equal(parseCpuCores("500m"), 0.5);
    assert.equal(parseCpuCores("2"), 2);
    assert.throws(() => parseMemoryMiB("1GB"), /`app.memory`/);
    assert.throws(() => parseMemoryMiB("100m"), /`app.memory`/);
    assert.throws(() => parseCpuCores("one"), /`app.cpu`/);
    assert.throws(() => parseCpuCores("0"), /`app.cpu`/);
  });
});
