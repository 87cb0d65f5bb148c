// The capacity calculator on known inputs (every expected number worked out by hand in the comments),
// and `npm run capacity` end to end on a fixture results file.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  chooseBasis,
  planCapacity,
  type CapacityPlan,
  type ThroughputBasis,
} from "../../bench/capacity-plan";
import { monthlyCost, type CostLine } from "../../bench/capacity-cost";
import {
  CAPACITY_DOC_COMMAND,
  CAPACITY_DOC_PATH,
  capacityDoc,
  renderCapacityDoc,
  stackCapacity,
} from "../../bench/capacity-doc";
import type { PriceSource, PriceTable } from "../../bench/prices";
import type { BenchResults, ScenarioResult } from "../../bench/results";
import { STACKS, stackConfig as readStackConfig } from "../../lib/stack-files";
import { parseStackConfig, type StackConfig } from "../../config";

const REPO_ROOT = resolve(__dirname, "..", "..");

function stack(overrides: Record<string, unknown>): StackConfig {
  const raw: Record<string, string> = {
    "gcp:project": "capacity-test",
    "gcp:region": "europe-west1",
    // Every stack states its target; this one is what the GKE defaults hold (60 replicas x 200).
    "items-api:targetConcurrentRequests": "12000",
    // Grants large enough for every plan below; the quota rules have their own tests.
    "items-api:quotas": JSON.stringify({
      cpus: 100000,
      ssdTotalGb: 1000000,
      cloudRunInstances: 1000,
      directVpcEgressInstances: 1000,
    }),
  };
  for (const [key, value] of Object.entries(overrides)) {
    raw[`items-api:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return parseStackConfig(raw);
}

function basis(overrides: Partial<ThroughputBasis>): ThroughputBasis {
  return {
    scenario: "mixed",
    rps: 5000,
    cpuUtilization: 1,
    meanLatencyMs: 40,
    p99_9Ms: 90,
    connections: 200,
    slaMet: true,
    why: "test",
    busyConnectionsPerPool: 3.2,
    ...overrides,
  };
}

const stepValue = (steps: CapacityPlan["gke"]["steps"], labelStart: string): number => {
  const step = steps.find((candidate) => candidate.label.startsWith(labelStart));
  assert.ok(step, `no step "${labelStart}" in ${steps.map((s) => s.label).join(", ")}`);
  return step.value;
};

const coverage = (plan: CapacityPlan["gke"]) =>
  Object.fromEntries(plan.checks.map((check) => [check.setting, check.covered]));

const recommended = (plan: CapacityPlan) =>
  Object.fromEntries(
    plan.recommendations.map((recommendation) => [recommendation.setting, recommendation.value]),
  );

describe("capacity plan", () => {
  describe("a GKE stack whose CPU binds (5000 rps at 40 ms mean, 200 connections)", () => {
    const plan = planCapacity({
      basis: basis({}),
      stack: stack({
        platform: "gke",
        targetConcurrentRequests: 50000,
        app: { cpu: "1", memory: "1Gi", poolMax: 8, maxInFlight: 1000 },
        gke: {
          regional: true,
          machineType: "e2-standard-4",
          maxNodes: 10,
          maxReplicas: 60,
          cpuTargetPercent: 60,
        },
        cloudrun: { maxInstances: 100, concurrency: 500 },
        database: { maxConnections: 1000 },
      }),
    });

    it("derives the request rate from Little's law: 50000 / 0.040 s = 1,250,000 rps", () => {
      assert.equal(plan.requestRate, 1_250_000);
    });

    it("needs ceil(1,250,000 / (5000 x 0.6)) = 417 replicas, more than ceil(50000 / 1000) = 50 by in-flight", () => {
      assert.equal(stepValue(plan.gke.steps, "replicas by throughput"), 417);
      assert.equal(stepValue(plan.gke.steps, "replicas by in-flight"), 50);
      assert.equal(plan.gke.requiredReplicas, 417);
      assert.match(plan.gke.binding, /throughput/);
    });

    it("packs min(floor(4 x 0.9 / 1), floor(16 x 0.8 / 1)) = 3 pods per node: 139 nodes, 47 per zone", () => {
      assert.equal(stepValue(plan.gke.steps, "pods per node"), 3);
      assert.equal(stepValue(plan.gke.steps, "nodes per zone"), 47);
      assert.equal(stepValue(plan.gke.steps, "nodes"), 139);
    });

    it("finds maxReplicas 60 and maxNodes 10 short; the capacity rule (60 x 1000) and pools (8 x 60) covered", () => {
      assert.deepEqual(coverage(plan.gke), {
        "gke.maxReplicas": false,
        "gke.maxReplicas x app.maxInFlight": true,
        "gke.maxNodes (per zone)": false,
        "app.poolMax x gke.maxReplicas": true,
      });
    });

    it("sizes Cloud Run by max(417 by CPU, ceil(50000 / (500 x 0.6)) = 167 by concurrency) = 417", () => {
      assert.equal(stepValue(plan.cloudrun.steps, "instances by concurrency"), 167);
      assert.equal(plan.cloudrun.requiredReplicas, 417);
      assert.deepEqual(coverage(plan.cloudrun), {
        "cloudrun.maxInstances": false,
        "cloudrun.maxInstances x cloudrun.concurrency": true,
        "app.poolMax x cloudrun.maxInstances": true,
      });
    });

    it("recommends the SLA-verified in-flight level, 417 replicas and pools that need more max_connections", () => {
      // Tuned: in-flight 200 -> GKE max(417, 250) = 417; Cloud Run max(417, ceil(50000 / 120) = 417) = 417.
      // Pools: 5000 rps x 0.6 = 3000 queries/s x 1 ms = 3 busy, + 1 spare = 4 (floor(900 / 417) = 2
      // would fit); 4 x 417 = 1668 connections -> max_connections >= ceil(1668 / 0.9) = 1854.
      assert.deepEqual(recommended(plan), {
        "app.maxInFlight": 200,
        "cloudrun.concurrency": 200,
        "cloudrun.maxInstances": 417,
        "gke.maxReplicas": 417,
        "gke.cpuTargetPercent": 60,
        "gke.targetRpsPerPod": 3000,
        "gke.maxNodes": 47,
        "app.poolMax": 4,
        "database.maxConnections": 1854,
        "NODE_OPTIONS (set from app.memory)": "--max-old-space-size=768",
      });
    });
  });

  it("recommends a gke.maxNodes that also holds a rollout's surge at peak, as config.ts requires", () => {
    // 1,250,000 rps / (6510 x 0.6) = 321 replicas: 107 nodes, 36 per zone; a rollout adds
    // gke.rolloutMaxSurge 5 pods: 326 / 3 = 109 nodes, 37 per zone.
    const settings = {
      platform: "gke",
      targetConcurrentRequests: 50000,
      app: { cpu: "1", memory: "1Gi", poolMax: 2, maxInFlight: 1000 },
      gke: { regional: true, machineType: "e2-standard-4", maxNodes: 200, maxReplicas: 400 },
      database: { maxConnections: 2000 },
    };
    const plan = planCapacity({ basis: basis({ rps: 6510 }), stack: stack(settings) });
    const { "gke.maxReplicas": maxReplicas, "gke.maxNodes": maxNodes } = recommended(plan);
    assert.deepEqual([maxReplicas, maxNodes], [321, 37]);
    const applied = (nodes: unknown) =>
      stack({ ...settings, gke: { ...settings.gke, maxReplicas, maxNodes: nodes } });
    assert.doesNotThrow(() => applied(maxNodes));
    assert.throws(() => applied(36), /gke\.rolloutMaxSurge/);
  });

  describe("a Cloud Run stack whose limits bind (4000 rps at 50 ms, 2 vCPU, in-flight 100, concurrency 80)", () => {
    const plan = planCapacity({
      basis: basis({ rps: 4000, meanLatencyMs: 50, busyConnectionsPerPool: null }),
      stack: stack({
        platform: "cloudrun",
        targetConcurrentRequests: 50000,
        app: { cpu: "2", memory: "2Gi", poolMax: 2, maxInFlight: 100 },
        gke: {
          regional: false,
          machineType: "n2-standard-8",
          maxNodes: 200,
          maxReplicas: 500,
          cpuTargetPercent: 80,
        },
        cloudrun: { maxInstances: 700, concurrency: 80 },
        database: { maxConnections: 2000 },
      }),
    });

    it("gives a second vCPU no extra throughput: one event loop, 4000 rps per replica", () => {
      assert.equal(plan.requestRate, 1_000_000);
      assert.equal(stepValue(plan.gke.steps, "rps per replica"), 4000);
    });

    it("GKE: ceil(50000 / 100) = 500 by in-flight beats ceil(1,000,000 / 3200) = 313 by CPU", () => {
      assert.equal(stepValue(plan.gke.steps, "replicas by throughput"), 313);
      assert.equal(plan.gke.requiredReplicas, 500);
      assert.match(plan.gke.binding, /in-flight/);
      // n2-standard-8: min(floor(7.2 / 2), floor(25.6 / 2)) = 3 pods per node; ceil(500 / 3) = 167 nodes, one zone.
      assert.equal(stepValue(plan.gke.steps, "nodes per zone"), 167);
      assert.ok(plan.gke.checks.every((check) => check.covered));
    });

    it("Cloud Run: ceil(50000 / (80 x 0.6)) = 1042 by concurrency beats 417 by CPU; 700 instances fall short", () => {
      assert.equal(stepValue(plan.cloudrun.steps, "replicas by throughput"), 417);
      assert.equal(plan.cloudrun.requiredReplicas, 1042);
      assert.match(plan.cloudrun.binding, /concurrency/);
      assert.deepEqual(coverage(plan.cloudrun), {
        "cloudrun.maxInstances": false,
        "cloudrun.maxInstances x cloudrun.concurrency": true,
        "app.poolMax x cloudrun.maxInstances": true,
      });
    });
  });

  it("counts a replica's throughput per busy vCPU: 4000 rps on 0.8 of a vCPU is 5000 rps at 100 %", () => {
    const plan = planCapacity({
      basis: basis({ rps: 4000, cpuUtilization: 0.8 }),
      stack: stack({ platform: "gke", gke: { cpuTargetPercent: 60 } }),
    });
    assert.equal(stepValue(plan.gke.steps, "rps per replica"), 5000);
    // ceil((12000 / 0.040) / (5000 x 0.6)) = ceil(100.0)
    assert.equal(stepValue(plan.gke.steps, "replicas by throughput"), 100);
  });

  it("rejects a machine type it has no size for, naming the key", () => {
    assert.throws(
      () =>
        planCapacity({
          basis: basis({}),
          stack: stack({ platform: "gke", gke: { machineType: "m3-megamem-64" } }),
        }),
      /gke\.machineType: "m3-megamem-64"/,
    );
  });
});

function scenario(name: string, rps: number, verdict: "PASS" | "FAIL"): ScenarioResult {
  return {
    name,
    description: name,
    connections: 200,
    durationSeconds: 30,
    requests: rps * 30,
    rps,
    latencyMs: {
      mean: 200_000 / rps,
      p50: 30,
      p90: 45,
      p99: 60,
      p99_9: verdict === "PASS" ? 80 : 250,
      max: 300,
    },
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    statusCodes: { "200": rps * 30 },
    server: { cpuSeconds: 29, cpuUtilization: 0.97, peakRssMiB: 120 },
    cacheHitRatio: null,
    apiToBareRps: 0.2,
    database: { primaryMean: 1.5, primaryMax: 4, replicaMean: 2.5, replicaMax: 6 },
    sla: { bound: "GET", limitMs: 100, verdict, reason: "fixture" },
  };
}

describe("choosing the per-replica basis", () => {
  it("takes the mixed scenario when it met its SLA", () => {
    const chosen = chooseBasis({
      scenarios: [scenario("get-hit", 9000, "PASS"), scenario("mixed", 4000, "PASS")],
    });
    assert.equal(chosen.scenario, "mixed");
    assert.equal(chosen.rps, 4000);
    assert.equal(chosen.meanLatencyMs, 50);
    assert.equal(chosen.busyConnectionsPerPool, 2.5);
    assert.equal(chosen.cpuUtilization, 0.97);
    assert.equal(chosen.slaMet, true);
  });

  it("falls back to the slowest passing scenario when mixed missed its SLA", () => {
    const chosen = chooseBasis({
      scenarios: [
        scenario("get-hit", 9000, "PASS"),
        scenario("post", 3000, "PASS"),
        scenario("mixed", 2000, "FAIL"),
      ],
    });
    assert.equal(chosen.scenario, "post");
    assert.equal(chosen.slaMet, true);
  });

  it("flags the plan as an upper bound when nothing met its SLA", () => {
    const chosen = chooseBasis({
      scenarios: [scenario("get-hit", 9000, "FAIL"), scenario("mixed", 2000, "FAIL")],
    });
    assert.equal(chosen.scenario, "mixed");
    assert.equal(chosen.slaMet, false);
  });
});

/** A bench run whose basis is "mixed" at 4000 rps and 50 ms mean latency (200,000 / 4000). */
function fixtureResults(): BenchResults {
  return {
    machine: {
      cpus: 2,
      cpuModel: "fixture",
      memoryGiB: 8,
      node: "v20",
      os: "Linux",
      date: "2026-01-01T00:00:00Z",
      loadAverageAtStart: [0.1, 0.2, 0.3],
    },
    settings: {
      quick: false,
      connections: 200,
      durationSeconds: 30,
      warmupSeconds: 5,
      rounds: 5,
      seedItems: 10000,
      hitPoolItems: 1000,
      serverCpu: 0,
      loadCpu: 1,
      apiEnv: {},
      notes: [],
    },
    scenarios: [scenario("get-hit", 9000, "PASS"), scenario("mixed", 4000, "PASS")],
    baseline: null,
    startup: { readyMs: [400], medianReadyMs: 400 },
    footprint: {
      idleRssMiB: 80,
      peakRssUnderLoadMiB: 150,
      imageAppLayerMiB: 30,
      imageBase: null,
      imageNote: "",
    },
    totalSeconds: 300,
  };
}

describe("npm run capacity -- --stack prod", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "capacity-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the arithmetic, a COVERED / NOT COVERED verdict per setting and a value for each setting", async () => {
    const resultsPath = join(dir, "results.json");
    writeFileSync(resultsPath, JSON.stringify(fixtureResults()));
    const { stdout } = await promisify(execFile)(
      "npm",
      ["run", "--silent", "capacity", "--", "--stack", "prod", "--results", resultsPath],
      { cwd: REPO_ROOT },
    );
    const target = readStackConfig("prod").targetConcurrentRequests;
    assert.ok(
      stdout.includes(
        `request rate (Little's law): ${target} in flight / 0.05 s mean latency = ${target / 0.05}`,
      ),
      stdout,
    );
    assert.match(stdout, /basis: scenario "mixed"/);
    for (const setting of [
      "gke.maxReplicas",
      "gke.maxNodes",
      "gke.cpuTargetPercent",
      "cloudrun.maxInstances",
      "cloudrun.concurrency",
      "app.maxInFlight",
      "app.poolMax",
      "NODE_OPTIONS",
    ]) {
      assert.ok(stdout.includes(`${setting}`), `the output names ${setting}:\n${stdout}`);
    }
    assert.match(stdout, /^ {2}(COVERED|NOT COVERED) +gke\.maxReplicas = \d+/m);
    assert.match(stdout, /^ {2}(COVERED|NOT COVERED) +cloudrun\.maxInstances = \d+/m);
    assert.match(stdout, /^ {2}(COVERED|NOT COVERED) +gke\.maxNodes \(per zone\) = \d+/m);
    for (const option of [
      "GKE Standard, on-demand nodes",
      "Cloud Run, instance-based billing",
      "Cloud Run, request-based billing",
    ]) {
      for (const load of ["target", "idle floor"]) {
        assert.match(stdout, new RegExp(`^ {2}${option} at ${load}: .* = \\$[\\d,]+$`, "m"), stdout);
      }
    }
    assert.match(stdout, /^ {2}GKE cluster management fee: \$[\d.]+ per cluster-hour \(https:\/\//m);
    // The quota table: quota, need, grant, verdict and where to ask for more, per platform.
    assert.match(stdout, /^quotas \(items-api:quotas, granted to the project\):$/m);
    // Prod's pool at its maximum: maxNodes per zone x 3 zones x 4 vCPUs (e2-standard-4) and x its disk.
    const prod = readStackConfig("prod");
    const nodes = prod.gke.maxNodes * 3;
    assert.match(
      stdout,
      new RegExp(
        `^ {2}OK +CPUS in europe-west1 \\(gke, deployed\\): need ${nodes * 4}, granted ${prod.quotas.cpus}; ` +
          "increase: Cloud console > IAM & Admin > Quotas, service Compute Engine API",
        "m",
      ),
    );
    assert.match(
      stdout,
      new RegExp(
        `^ {2}OK +SSD_TOTAL_GB in europe-west1 \\(gke, deployed\\): need ${nodes * prod.gke.diskSizeGb}, ` +
          `granted ${prod.quotas.ssdTotalGb};`,
        "m",
      ),
    );
    assert.match(
      stdout,
      /^ {2}OK +Cloud Run instances per service in europe-west1 \(cloudrun, not deployed\): need 417, granted 417; increase: .*Cloud Run Admin API/m,
    );
  });
});

describe("monthly compute cost", () => {
  const source: PriceSource = { url: "https://example.test/prices", asOf: "2026-01-01", evidence: "test" };
  const price = (usd: number, unit: string) => ({ usd, unit, source });
  // Round prices so that every expected figure below is a line of hand arithmetic.
  const table: PriceTable = {
    gkeClusterHour: price(0.1, "cluster-hour"),
    gkeFreeTierMonthlyCredit: price(74.4, "billing account-month"),
    regions: {
      "europe-west1": {
        machineHour: { usd: { "e2-standard-4": 0.5 }, source },
        cloudRun: {
          instanceBased: {
            vcpuSecond: price(0.00001, "vCPU-second"),
            gibSecond: price(0.000001, "GiB-second"),
          },
          requestBased: {
            vcpuSecond: price(0.00002, "vCPU-second"),
            gibSecond: price(0.000002, "GiB-second"),
            perMillionRequests: price(0.5, "million requests"),
            idleVcpuSecond: price(0.000001, "idle vCPU-second"),
            idleGibSecond: price(0.000001, "idle GiB-second"),
          },
        },
      },
    },
  };
  // 5000 rps at 40 ms on one vCPU: 50,000 in flight -> 1,250,000 rps -> 417 replicas / instances (see above).
  const settings = stack({
    platform: "gke",
    targetConcurrentRequests: 50000,
    app: { cpu: "1", memory: "2Gi", poolMax: 2, maxInFlight: 1000 },
    gke: {
      regional: true,
      machineType: "e2-standard-4",
      minNodes: 1,
      minReplicas: 12,
      maxReplicas: 500,
      maxNodes: 200,
    },
    cloudrun: { minInstances: 4, maxInstances: 500, concurrency: 500 },
    database: { maxConnections: 2000 },
  });
  const plan = planCapacity({ basis: basis({}), stack: settings });
  const cost = monthlyCost(plan, settings, table);
  const usdOf = (option: string, load: CostLine["load"]): number => {
    const line = cost.lines.find(
      (candidate) => candidate.option.startsWith(option) && candidate.load === load,
    );
    assert.ok(line, `no ${option} line at ${load}: ${JSON.stringify(cost.lines)}`);
    return line.usdPerMonth;
  };
  const near = (actual: number, expected: number) =>
    assert.ok(Math.abs(actual - expected) < 1e-6 * Math.max(1, expected), `${actual} != ${expected}`);

  it("prices GKE at the target: 417 replicas / min(3 by CPU, 6 by memory) pods = 139 nodes x $0.5 x 730 h + $73 fee", () => {
    assert.equal(plan.gke.requiredReplicas, 417);
    near(usdOf("GKE", "target"), 139 * 0.5 * 730 + 0.1 * 730); // 50,735 + 73 = 50,808
  });

  it("prices the GKE floor at max(gke.minNodes 1 x 3 zones, ceil(12 minReplicas / 3)) = 4 nodes", () => {
    near(usdOf("GKE", "idle floor"), 4 * 0.5 * 730 + 73); // 1,460 + 73 = 1,533
  });

  it("prices Cloud Run instance-based billing per instance-second: 417 x (1 vCPU x 0.00001 + 2 GiB x 0.000001) x 2,628,000 s", () => {
    near(usdOf("Cloud Run, instance-based", "target"), 417 * 0.000012 * 2_628_000); // 13,150.512
    near(usdOf("Cloud Run, instance-based", "idle floor"), 4 * 0.000012 * 2_628_000); // 126.144
  });

  it("adds the request fee to request-based billing at the target and bills idle minimum instances at the idle rate", () => {
    // 417 x (0.00002 + 2 x 0.000002) x 2,628,000 = 26,301.024; 1,250,000 rps x 2,628,000 s / 1e6 x $0.5 = 1,642,500
    near(usdOf("Cloud Run, request-based", "target"), 26_301.024 + 1_642_500);
    near(usdOf("Cloud Run, request-based", "idle floor"), 4 * (0.000001 + 2 * 0.000001) * 2_628_000); // 31.536
    assert.deepEqual(cost.gaps, []);
  });

  it("names what the table lacks instead of guessing a price", () => {
    const elsewhere = stack({ platform: "gke" });
    const noRegion = monthlyCost(
      plan,
      { ...elsewhere, gcp: { ...elsewhere.gcp, region: "asia-south2" } },
      table,
    );
    assert.deepEqual(noRegion.lines, []);
    assert.match(noRegion.gaps.join("\n"), /no list prices for region asia-south2/);

    const n2 = stack({ platform: "gke", gke: { machineType: "n2-standard-8" } });
    const noMachine = monthlyCost(planCapacity({ basis: basis({}), stack: n2 }), n2, table);
    assert.match(noMachine.gaps.join("\n"), /no list price for n2-standard-8 in europe-west1/);
    assert.ok(
      noMachine.lines.length > 0 && noMachine.lines.every((line) => line.option.startsWith("Cloud Run")),
    );
  });

  it("notes the GKE free tier only for a zonal cluster", () => {
    assert.deepEqual(cost.notes, []);
    // 22 nodes x 3 pods hold maxReplicas 60 plus a rollout's surge of 5 in one zone.
    const zonal = stack({ platform: "gke", gke: { regional: false, maxNodes: 22 } });
    const zonalCost = monthlyCost(planCapacity({ basis: basis({}), stack: zonal }), zonal, table);
    assert.match(zonalCost.notes.join("\n"), /zonal cluster's fee \(\$73 a month\) .* \$74\.4/);
  });
});

describe("docs/capacity.md", function () {
  this.timeout(60_000);

  it(`is what \`${CAPACITY_DOC_COMMAND}\` renders from bench/results.json, the stacks and bench/prices.ts now`, async () => {
    const committed = readFileSync(CAPACITY_DOC_PATH, "utf8");
    const fresh = await capacityDoc();
    assert.ok(committed === fresh, `docs/capacity.md is stale: run ${CAPACITY_DOC_COMMAND} and commit it`);
  });

  it("takes every figure from its inputs: other measurements give another plan", async () => {
    const results = fixtureResults();
    const doc = await renderCapacityDoc({
      results,
      resultsLabel: "fixture.json",
      stacks: STACKS.map((name) => stackCapacity(name, readStackConfig(name), results)),
    });
    const prod = readStackConfig("prod");
    // mixed: 4000 rps at 50 ms mean -> target / 0.05 s requests per second.
    assert.ok(doc.includes(`${prod.targetConcurrentRequests / 0.05} requests/s`), doc);
    assert.match(doc, /\*\*mixed\*\* \(basis\)/);
    assert.match(doc, /^<!-- Generated by `npm run capacity -- --markdown`/);
    assert.ok(!doc.includes("/work/") && !doc.includes(REPO_ROOT), "no absolute path of this machine");
  });
});

describe("docs/capacity.md quota table", () => {
  it("lists each stack's quotas: need, grant, verdict and how to increase", async () => {
    const results = fixtureResults();
    const doc = await renderCapacityDoc({
      results,
      resultsLabel: "fixture.json",
      stacks: STACKS.map((name) => stackCapacity(name, readStackConfig(name), results)),
    });
    assert.match(doc, /^### Quotas \(`items-api:quotas`\)$/m);
    assert.match(doc, /^\| quota +\| platform +\| need +\| grant +\| ok +\| how to increase +\|$/m);
    const prod = readStackConfig("prod");
    const cpusNeeded = prod.gke.maxNodes * 3 * 4; // nodes of the pool at its maximum x e2-standard-4's vCPUs
    assert.match(
      doc,
      new RegExp(
        `^\\| CPUS \\(europe-west1\\) +\\| gke \\(deployed\\) +\\| ${cpusNeeded} +\\| ${prod.quotas.cpus} +\\| yes +\\| Cloud console`,
        "m",
      ),
    );
  });
});
