// The data-tier components with options no stack sets, one component per run, each in its own
// process under the plan's mocks (tests/infra/components/construct.ts).
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";

import { T } from "../../lib/resource-types";
import type { PlanResource } from "../../plan/types";
import { Inventory } from "./inventory";

const TSX = path.resolve(__dirname, "../../node_modules/.bin/tsx");
const CONSTRUCT = path.join(__dirname, "components", "construct.ts");

async function construct(scenario: string): Promise<Inventory> {
  const { stdout } = await promisify(execFile)(TSX, [CONSTRUCT, scenario], { maxBuffer: 16 * 1024 * 1024 });
  return new Inventory(JSON.parse(stdout) as PlanResource[]);
}

describe("data-tier components built alone, with options no stack sets", function () {
  this.timeout(120_000);

  it("Database: one instance per named replica, each after the previous, with its own tier and zone", async () => {
    const plan = await construct("database with three named replicas, one with its own tier and zone");
    const [east, north, west] = ["east", "north", "west"].map((name) =>
      plan.find(T.sqlInstance, `db-replica-${name}`),
    );
    plan.expectInputs(T.sqlInstance, "db-replica-west", {
      settings: { tier: "db-custom-2-7680", locationPreference: { zone: "europe-west1-c" } },
    });
    plan.expectInputs(T.sqlInstance, "db-replica-east", { settings: { tier: "db-custom-8-32768" } });
    assert.equal((east.inputs.settings as Record<string, unknown>).locationPreference, undefined);
    plan.expectDependsOn(north, [east]);
    plan.expectDependsOn(west, [north]);
    // Every replica is reachable: one URL secret lists them all, and the CA secret covers them.
    plan.expectInputs(T.secretVersion, "db-replica-urls-version", { secretData: "[secret]" });
    plan.expectInputs(T.secret, "db-ca-cert", { secretId: "db-ca-cert" });
    assert.ok(plan.all(T.sqlInstance).every((instance) => instance.protect === false));
  });

  it("Cache: BASIC tier, its own maintenance window, and protect on the instance and its secrets", async () => {
    const plan = await construct("BASIC cache with protection");
    const redis = plan.expectInputs(T.redisInstance, "cache-redis", {
      tier: "BASIC",
      memorySizeGb: 1,
      deletionProtection: true,
      maintenancePolicy: {
        weeklyMaintenanceWindows: [{ day: "TUESDAY", startTime: { hours: 22, minutes: 0 } }],
      },
    });
    assert.equal(redis.protect, true);
    assert.deepEqual(
      plan.all(T.secret).map((secret) => [secret.name, secret.protect]),
      [
        ["cache-url", true],
        ["cache-ca-cert", true],
      ],
    );
  });

  it("Network: the pinned range goes to the GlobalAddress as address and prefix, the peering is protected", async () => {
    const plan = await construct("network with a small pinned range");
    plan.expectInputs(T.globalAddress, "net-psa-range", { address: "172.16.0.0", prefixLength: 24 });
    assert.equal(plan.find(T.privateServiceConnection, "net-psa").protect, true);
  });

  it("ProjectApis: exactly the APIs asked for, left on at destroy", async () => {
    const plan = await construct("project APIs");
    assert.deepEqual(
      plan
        .all(T.apiService)
        .map((service) => [service.name, service.inputs.service, service.inputs.disableOnDestroy]),
      [
        ["apis-compute", "compute.googleapis.com", false],
        ["apis-sqladmin", "sqladmin.googleapis.com", false],
      ],
    );
  });
});
