// Constructs one data-tier component under the plan's mocks and prints what it registered (a JSON
// array of PlanResource) on stdout. Run in its own process, since pulumi.runtime.setMocks is
// process-wide:  tsx tests/infra/components/construct.ts <scenario>
import * as pulumi from "@pulumi/pulumi";

import { Cache } from "../../../components/data/cache";
import { Database } from "../../../components/data/database";
import { Network } from "../../../components/data/network";
import { ProjectApis } from "../../../components/project/apis";
import { parseStackConfig, PROJECT_NAME } from "../../../config";
import { createMocks } from "../../../plan/mocks";
import { recordRegistrations } from "../../../plan/recorder";

const PROJECT = "acme-items-test";
const REGION = "europe-west1";

/** Stands in for Network.privateServiceAccess, which the data components wait for. */
class PrivateServiceAccess extends pulumi.CustomResource {
  constructor(name: string) {
    super("test:index:PrivateServiceAccess", name, {});
  }
}

/** A stack config with some fields of structured keys set, validated by config.ts like any stack. */
function settings(overrides: Record<string, object>) {
  return parseStackConfig({
    "gcp:project": PROJECT,
    "gcp:region": REGION,
    [`${PROJECT_NAME}:platform`]: "gke",
    [`${PROJECT_NAME}:targetConcurrentRequests`]: "1000",
    [`${PROJECT_NAME}:cloudrun`]: JSON.stringify({ concurrency: 200 }),
    // The default GKE pool at its maximum (10 nodes x 3 zones) needs more than the default grants.
    [`${PROJECT_NAME}:quotas`]: JSON.stringify({ cpus: 120, ssdTotalGb: 1500 }),
    ...Object.fromEntries(
      Object.entries(overrides).map(([key, value]) => [`${PROJECT_NAME}:${key}`, JSON.stringify(value)]),
    ),
  });
}

/** Options no stack file sets; each builds exactly one component. */
const SCENARIOS: Record<string, () => void> = {
  "database with three named replicas, one with its own tier and zone": () => {
    const cfg = settings({
      database: {
        replicas: { east: {}, west: { tier: "db-custom-2-7680", zone: "europe-west1-c" }, north: {} },
      },
    });
    const connection = new PrivateServiceAccess("psa");
    new Database("db", {
      region: REGION,
      settings: cfg.database,
      deletionProtection: false,
      network: "projects/p/global/networks/vpc",
      privateServiceAccess: connection,
      allocatedIpRange: "psa-range",
      userLabels: {},
    });
  },
  "BASIC cache with protection": () => {
    const cfg = settings({
      cache: { tier: "BASIC", memorySizeGb: 1, maintenanceWindow: { day: "TUESDAY", hour: 22 } },
    });
    const connection = new PrivateServiceAccess("psa");
    new Cache("cache", {
      region: REGION,
      settings: cfg.cache,
      deletionProtection: true,
      network: "projects/p/global/networks/vpc",
      privateServiceAccess: connection,
      reservedIpRange: "psa-range",
    });
  },
  "network with a small pinned range": () => {
    const cfg = settings({ network: { privateServiceAccessCidr: "172.16.0.0/24" } });
    new Network("net", { region: REGION, settings: cfg.network, protectPrivateServiceAccess: true });
  },
  "project APIs": () => {
    new ProjectApis("apis", { apis: ["compute.googleapis.com", "sqladmin.googleapis.com"] });
  },
};

async function main(): Promise<void> {
  const scenario = SCENARIOS[process.argv[2] ?? ""];
  if (!scenario) throw new Error(`unknown scenario; one of: ${Object.keys(SCENARIOS).join(" | ")}`);
  const { mocks, errors } = createMocks({ project: PROJECT, region: REGION });
  await pulumi.runtime.setMocks(mocks, PROJECT_NAME, "test", false);
  const recorder = recordRegistrations({ stack: "test", project: PROJECT_NAME, providerInputs: () => ({}) });
  await pulumi.runtime.runInPulumiStack(async () => {
    scenario();
    return {};
  });
  await pulumi.runtime.disconnect();
  const problems = [...errors, ...recorder.errors];
  if (problems.length > 0) throw new Error(problems.join("; "));
  process.stdout.write(JSON.stringify(recorder.resources));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
