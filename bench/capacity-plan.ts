// Turns one replica's measured throughput and latency into scaling settings for a target number of
// concurrent requests. Pure: no I/O, so every figure can be checked by hand (tests/bench/capacity.test.ts).
//
// The arithmetic is Little's law, concurrency = throughput x latency, applied twice:
// - to the whole service: C requests in flight that each take L seconds arrive at C / L requests/s;
//   a replica serves R requests/s with its vCPU fully busy, but the autoscaler holds it near its CPU
//   target t, so replicas >= (C / L) / (R x t);
// - to one replica: it admits at most maxInFlight (GKE) or concurrency (Cloud Run) requests at once,
//   so replicas >= C / limit.
// The larger count binds. With the latency measured under the benchmark's own load, R x L is the
// benchmark's connection count, so the first bound is C / (connections x t): the in-flight level at
// which the SLA was verified, scaled down by the CPU headroom.
import { NODE_ALLOCATABLE_CPU_SHARE } from "../lib/quotas";
import { nodeOptionsFor, parseCpuCores, parseMemoryMiB } from "../components/workload/api-environment";
import { CONNECTION_BUDGET_PERCENT, type StackConfig } from "../config";
import type { BenchResults, ScenarioResult } from "./results";

/** The figures of one measured operating point of one replica. */
export interface ThroughputBasis {
  /** Scenario the figures come from, e.g. "mixed". */
  readonly scenario: string;
  /** 2xx responses per second one replica sustained with one vCPU. */
  readonly rps: number;
  /** Share of its vCPU the replica used meanwhile (CPU seconds / wall seconds, from /proc). */
  readonly cpuUtilization: number;
  /** Mean latency at that throughput (the L of Little's law). */
  readonly meanLatencyMs: number;
  /** Tail latency at that throughput, for the report. */
  readonly p99_9Ms: number;
  /** Requests in flight during the measurement (the load generator's connections). */
  readonly connections: number;
  /** Whether the scenario met its latency SLA at that load. */
  readonly slaMet: boolean;
  /** One line on why this scenario was chosen. */
  readonly why: string;
  /** Most PostgreSQL connections one pool kept busy (mean over a scenario), when measured. */
  readonly busyConnectionsPerPool: number | null;
}

/** The stack settings the plan reads; a parsed stack config satisfies it. */
export type CapacitySettings = Pick<
  StackConfig,
  "targetConcurrentRequests" | "platform" | "app" | "gke" | "cloudrun" | "database"
>;

export interface CapacityInputs {
  readonly stack: CapacitySettings;
  readonly basis: ThroughputBasis;
}

/** Cloud Run's autoscaler aims at 60 % CPU and 60 % of the concurrency limit unless told otherwise. */
export const CLOUD_RUN_CPU_TARGET_PERCENT = 60;
export const CLOUD_RUN_CONCURRENCY_TARGET_PERCENT = 60;
/** Cloud Run's largest concurrency setting, and the stack schema's largest cloudrun.maxInstances. */
export const CLOUD_RUN_MAX_CONCURRENCY = 1000;
export const CLOUD_RUN_MAX_INSTANCES = 1000;
export const NODE_ALLOCATABLE_MEMORY_SHARE = 0.8;
/**
 * Time a query holds a pool connection on Cloud SQL (same-region private IP, one indexed row, commit
 * on a REGIONAL instance). An assumption, not a measurement: the benchmark's PostgreSQL is on loopback.
 */
export const ASSUMED_QUERY_MS = 1;
/** A regional GKE cluster spreads each node pool over this many zones; maxNodeCount is per zone. */
export const ZONES_PER_REGION = 3;

export interface MachineType {
  readonly vcpu: number;
  readonly memoryGiB: number;
}

/** Predefined machine types a node pool is likely to use. */
export const MACHINE_TYPES: Readonly<Record<string, MachineType>> = {
  "e2-standard-2": { vcpu: 2, memoryGiB: 8 },
  "e2-standard-4": { vcpu: 4, memoryGiB: 16 },
  "e2-standard-8": { vcpu: 8, memoryGiB: 32 },
  "e2-standard-16": { vcpu: 16, memoryGiB: 64 },
  "e2-standard-32": { vcpu: 32, memoryGiB: 128 },
  "e2-highcpu-8": { vcpu: 8, memoryGiB: 8 },
  "e2-highcpu-16": { vcpu: 16, memoryGiB: 16 },
  "e2-highcpu-32": { vcpu: 32, memoryGiB: 32 },
  "n2-standard-2": { vcpu: 2, memoryGiB: 8 },
  "n2-standard-4": { vcpu: 4, memoryGiB: 16 },
  "n2-standard-8": { vcpu: 8, memoryGiB: 32 },
  "n2-standard-16": { vcpu: 16, memoryGiB: 64 },
  "n2-standard-32": { vcpu: 32, memoryGiB: 128 },
  "n2-highcpu-8": { vcpu: 8, memoryGiB: 8 },
  "n2-highcpu-16": { vcpu: 16, memoryGiB: 16 },
  "n2-highcpu-32": { vcpu: 32, memoryGiB: 32 },
  "n2d-standard-4": { vcpu: 4, memoryGiB: 16 },
  "n2d-standard-8": { vcpu: 8, memoryGiB: 32 },
  "n2d-standard-16": { vcpu: 16, memoryGiB: 64 },
  "c2-standard-4": { vcpu: 4, memoryGiB: 16 },
  "c2-standard-8": { vcpu: 8, memoryGiB: 32 },
  "c2-standard-16": { vcpu: 16, memoryGiB: 64 },
  "c3-standard-4": { vcpu: 4, memoryGiB: 16 },
  "c3-standard-8": { vcpu: 8, memoryGiB: 32 },
  "c3-standard-22": { vcpu: 22, memoryGiB: 88 },
  "c3-highcpu-8": { vcpu: 8, memoryGiB: 16 },
  "c3-highcpu-22": { vcpu: 22, memoryGiB: 44 },
  "t2d-standard-4": { vcpu: 4, memoryGiB: 16 },
  "t2d-standard-8": { vcpu: 8, memoryGiB: 32 },
  "t2d-standard-16": { vcpu: 16, memoryGiB: 64 },
};

/** One step of the arithmetic, printed as `label: formula = value`. */
export interface PlanStep {
  readonly label: string;
  readonly formula: string;
  readonly value: number;
}

/** One stack setting compared with what the plan needs. */
export interface SettingCheck {
  readonly setting: string;
  readonly current: number;
  readonly needs: string;
  readonly covered: boolean;
}

export interface PlatformPlan {
  readonly platform: "gke" | "cloudrun";
  readonly steps: readonly PlanStep[];
  readonly requiredReplicas: number;
  readonly binding: string;
  readonly checks: readonly SettingCheck[];
}

/** A value to write into the stack file, with its reason. */
export interface Recommendation {
  readonly setting: string;
  readonly value: number | string;
  readonly why: string;
}

export interface CapacityPlan {
  readonly inputs: CapacityInputs;
  /** Requests per second the target concurrency implies at the measured latency. */
  readonly requestRate: number;
  readonly gke: PlatformPlan;
  readonly cloudrun: PlatformPlan;
  readonly recommendations: readonly Recommendation[];
}

/** The scenario whose traffic is closest to production; it sizes the fleet when it met its SLA. */
export const PREFERRED_BASIS_SCENARIO = "mixed";

function basisFrom(
  scenario: ScenarioResult,
  why: string,
  busyConnectionsPerPool: number | null,
): ThroughputBasis {
  return {
    scenario: scenario.name,
    rps: scenario.rps,
    cpuUtilization: scenario.server.cpuUtilization,
    meanLatencyMs: scenario.latencyMs.mean,
    p99_9Ms: scenario.latencyMs.p99_9,
    connections: scenario.connections,
    slaMet: scenario.sla.verdict === "PASS",
    why,
    busyConnectionsPerPool,
  };
}

/**
 * Per-replica throughput at SLA: the mixed scenario when it passed (production traffic is a mix, and
 * sizing every replica for the slowest request type alone would buy capacity for traffic that never
 * comes); otherwise the slowest scenario that passed; otherwise the mixed one, flagged as not met.
 */
export function chooseBasis(results: Pick<BenchResults, "scenarios">): ThroughputBasis {
  const { scenarios } = results;
  if (scenarios.length === 0) throw new Error("results: no scenarios were measured");
  const busySamples = scenarios.flatMap((s) =>
    s.database === null ? [] : [s.database.primaryMean, s.database.replicaMean],
  );
  const busy = busySamples.length === 0 ? null : Math.max(...busySamples);
  const preferred = scenarios.find((s) => s.name === PREFERRED_BASIS_SCENARIO);
  if (preferred !== undefined && preferred.sla.verdict === "PASS") {
    return basisFrom(
      preferred,
      "mixed (80 % GET, 10 % POST, 10 % PUT) met the GET bound and is closest to production traffic",
      busy,
    );
  }
  const passing = scenarios.filter((s) => s.sla.verdict === "PASS").sort((a, b) => a.rps - b.rps);
  if (passing.length > 0) {
    const missing = preferred === undefined ? "mixed was not measured" : "mixed missed its SLA";
    return basisFrom(
      passing[0],
      `${missing}; the slowest scenario that passed is the most cautious point at SLA`,
      busy,
    );
  }
  const fallback = preferred ?? [...scenarios].sort((a, b) => a.rps - b.rps)[0];
  return basisFrom(fallback, "no scenario met its SLA at this load: the plan is an upper bound", busy);
}

/** Math.ceil that ignores floating-point dust (50000 / 0.04 is 1250000.0000000002). */
const ceil = (value: number): number => Math.ceil(value - 1e-9);
const floor = (value: number): number => Math.floor(value + 1e-9);
export const round = (value: number, decimals = 2): number =>
  Math.round(value * 10 ** decimals) / 10 ** decimals;

export function machineType(name: string): MachineType {
  const machine = MACHINE_TYPES[name];
  if (machine === undefined) {
    throw new Error(
      `gke.machineType: "${name}" is not in the capacity table; known: ${Object.keys(MACHINE_TYPES).join(", ")}`,
    );
  }
  return machine;
}

interface Demand {
  readonly requestRate: number;
  /** Requests per second one replica sustains with the stack's `app.cpu`. */
  readonly replicaRps: number;
  readonly steps: readonly PlanStep[];
}

function demand({ stack, basis }: CapacityInputs): Demand {
  const target = stack.targetConcurrentRequests;
  const cpu = parseCpuCores(stack.app.cpu);
  const latencySeconds = basis.meanLatencyMs / 1000;
  const requestRate = target / latencySeconds;
  // What a fully busy vCPU serves: the measured rate over the CPU it took. On the benchmark machine the
  // load generator, PostgreSQL and Redis share the other CPU, so the replica may idle while it waits.
  const rpsPerVcpu = basis.rps / basis.cpuUtilization;
  // One Node.js process runs one event loop: CPU beyond one vCPU adds no request throughput, CPU
  // below one vCPU removes it in proportion (CFS quota).
  const replicaRps = rpsPerVcpu * Math.min(cpu, 1);
  return {
    requestRate,
    replicaRps,
    steps: [
      {
        label: "request rate (Little's law)",
        formula: `${target} in flight / ${round(latencySeconds, 4)} s mean latency`,
        value: round(requestRate, 0),
      },
      {
        label: "rps per replica at 100 % CPU",
        formula:
          `${round(basis.rps, 0)} rps / ${round(basis.cpuUtilization, 3)} of a vCPU used ` +
          `x min(app.cpu ${cpu}, 1)`,
        value: round(replicaRps, 0),
      },
    ],
  };
}

function replicasByThroughput(d: Demand, cpuTargetPercent: number, target: string): PlanStep {
  return {
    label: `replicas by throughput at ${target} ${cpuTargetPercent} %`,
    formula: `${round(d.requestRate, 0)} rps / (${round(d.replicaRps, 0)} rps x ${cpuTargetPercent / 100})`,
    value: ceil(d.requestRate / (d.replicaRps * (cpuTargetPercent / 100))),
  };
}

/** Connections all replicas' pools may hold on one PostgreSQL server (config.ts's rule). */
const connectionBudget = (stack: CapacitySettings): number =>
  floor((stack.database.maxConnections * CONNECTION_BUDGET_PERCENT) / 100);

/** Same rule as config.ts: every pool of every replica fits in the connection budget of one server. */
function connectionBudgetCheck(stack: CapacitySettings, replicas: number, replicasKey: string): SettingCheck {
  const connections = stack.app.poolMax * replicas;
  const budget = connectionBudget(stack);
  return {
    setting: `app.poolMax x ${replicasKey}`,
    current: connections,
    needs: `<= ${budget} (${CONNECTION_BUDGET_PERCENT} % of database.maxConnections ${stack.database.maxConnections})`,
    covered: connections <= budget,
  };
}

export interface NodeNeed {
  readonly podsPerNode: number;
  /** Nodes the replicas need in the whole cluster. */
  readonly total: number;
  readonly zones: number;
  readonly perZone: number;
  readonly steps: readonly PlanStep[];
}

/** Nodes of `gke.machineType` that hold `replicas` pods of `app.cpu` / `app.memory`. */
export function nodesFor(stack: CapacitySettings, replicas: number): NodeNeed {
  const machine = machineType(stack.gke.machineType);
  const podCpu = parseCpuCores(stack.app.cpu);
  const podMemoryGiB = parseMemoryMiB(stack.app.memory) / 1024;
  const podsPerNode = Math.min(
    floor((machine.vcpu * NODE_ALLOCATABLE_CPU_SHARE) / podCpu),
    floor((machine.memoryGiB * NODE_ALLOCATABLE_MEMORY_SHARE) / podMemoryGiB),
  );
  if (podsPerNode < 1) {
    throw new Error(
      `gke.machineType: ${stack.gke.machineType} cannot hold one pod of app.cpu ${stack.app.cpu} and app.memory ${stack.app.memory}`,
    );
  }
  const nodes = ceil(replicas / podsPerNode);
  const zones = stack.gke.regional ? ZONES_PER_REGION : 1;
  const perZone = ceil(nodes / zones);
  return {
    podsPerNode,
    total: nodes,
    zones,
    perZone,
    steps: [
      {
        label: "pods per node",
        formula:
          `${stack.gke.machineType}: min(floor(${machine.vcpu} vCPU x ${NODE_ALLOCATABLE_CPU_SHARE} / ${podCpu}), ` +
          `floor(${machine.memoryGiB} GiB x ${NODE_ALLOCATABLE_MEMORY_SHARE} / ${round(podMemoryGiB, 3)} GiB))`,
        value: podsPerNode,
      },
      { label: "nodes", formula: `${replicas} replicas / ${podsPerNode} pods per node`, value: nodes },
      {
        label: "nodes per zone",
        formula: `${nodes} nodes / ${zones} zone${zones === 1 ? "" : "s"}`,
        value: perZone,
      },
    ],
  };
}

/**
 * The node pool's maximum per zone (maxNodeCount): at `replicas`, a rollout adds
 * gke.rolloutMaxSurge pods, and config.ts refuses a pool they do not all fit.
 */
function poolMaximumFor(stack: CapacitySettings, replicas: number): { perZone: number; step: PlanStep } {
  const surge = stack.gke.rolloutMaxSurge;
  const { perZone, podsPerNode, zones, total } = nodesFor(stack, replicas + surge);
  return {
    perZone,
    step: {
      label: "nodes per zone during a rollout at peak (node pool maxNodeCount)",
      formula: `(${replicas} replicas + gke.rolloutMaxSurge ${surge}) / ${podsPerNode} pods per node = ${total} nodes / ${zones} zone${zones === 1 ? "" : "s"}`,
      value: perZone,
    },
  };
}

function planGke(inputs: CapacityInputs, d: Demand): PlatformPlan {
  const { stack } = inputs;
  const { targetConcurrentRequests: target, gke, app } = stack;
  const byThroughput = replicasByThroughput(d, gke.cpuTargetPercent, "HPA CPU target");
  const byInFlight: PlanStep = {
    label: "replicas by in-flight limit",
    formula: `${target} / app.maxInFlight ${app.maxInFlight}`,
    value: ceil(target / app.maxInFlight),
  };
  const required = Math.max(byThroughput.value, byInFlight.value);
  const nodes = nodesFor(stack, required);
  const pool = poolMaximumFor(stack, required);
  return {
    platform: "gke",
    steps: [
      ...d.steps,
      byThroughput,
      byInFlight,
      {
        label: "replicas needed (the larger)",
        formula: `max(${byThroughput.value}, ${byInFlight.value})`,
        value: required,
      },
      ...nodes.steps,
      pool.step,
    ],
    requiredReplicas: required,
    binding:
      byThroughput.value >= byInFlight.value ? "throughput (CPU)" : "in-flight limit (app.maxInFlight)",
    checks: [
      {
        setting: "gke.maxReplicas",
        current: gke.maxReplicas,
        needs: `>= ${required}`,
        covered: gke.maxReplicas >= required,
      },
      {
        setting: "gke.maxReplicas x app.maxInFlight",
        current: gke.maxReplicas * app.maxInFlight,
        needs: `>= ${target}`,
        covered: gke.maxReplicas * app.maxInFlight >= target,
      },
      {
        setting: "gke.maxNodes (per zone)",
        current: gke.maxNodes,
        needs: `>= ${pool.perZone}`,
        covered: gke.maxNodes >= pool.perZone,
      },
      connectionBudgetCheck(stack, gke.maxReplicas, "gke.maxReplicas"),
    ],
  };
}

function planCloudRun(inputs: CapacityInputs, d: Demand): PlatformPlan {
  const { stack } = inputs;
  const { targetConcurrentRequests: target, cloudrun } = stack;
  const byThroughput = replicasByThroughput(d, CLOUD_RUN_CPU_TARGET_PERCENT, "Cloud Run CPU target");
  const concurrencyShare = CLOUD_RUN_CONCURRENCY_TARGET_PERCENT / 100;
  const byConcurrency: PlanStep = {
    label: `instances by concurrency target ${CLOUD_RUN_CONCURRENCY_TARGET_PERCENT} %`,
    formula: `${target} / (cloudrun.concurrency ${cloudrun.concurrency} x ${concurrencyShare})`,
    value: ceil(target / (cloudrun.concurrency * concurrencyShare)),
  };
  const required = Math.max(byThroughput.value, byConcurrency.value);
  return {
    platform: "cloudrun",
    steps: [
      ...d.steps,
      byThroughput,
      byConcurrency,
      {
        label: "instances needed (the larger)",
        formula: `max(${byThroughput.value}, ${byConcurrency.value})`,
        value: required,
      },
    ],
    requiredReplicas: required,
    binding:
      byThroughput.value >= byConcurrency.value
        ? "throughput (CPU)"
        : "concurrency target (cloudrun.concurrency)",
    checks: [
      {
        setting: "cloudrun.maxInstances",
        current: cloudrun.maxInstances,
        needs: `>= ${required}`,
        covered: cloudrun.maxInstances >= required,
      },
      {
        setting: "cloudrun.maxInstances x cloudrun.concurrency",
        current: cloudrun.maxInstances * cloudrun.concurrency,
        needs: `>= ${target}`,
        covered: cloudrun.maxInstances * cloudrun.concurrency >= target,
      },
      connectionBudgetCheck(stack, cloudrun.maxInstances, "cloudrun.maxInstances"),
    ],
  };
}

function poolRecommendations(stack: CapacitySettings, basis: ThroughputBasis, d: Demand, fleet: number) {
  const budget = connectionBudget(stack);
  const fitting = floor(budget / fleet);
  // Worst case for one pool: every request of a replica at its CPU target queries it (all cache
  // misses on the replica pool, all writes on the primary pool). Little's law gives the busy connections.
  const cpuTargetPercent = Math.max(stack.gke.cpuTargetPercent, CLOUD_RUN_CPU_TARGET_PERCENT);
  const queriesPerSecond = d.replicaRps * (cpuTargetPercent / 100);
  const busy = (queriesPerSecond * ASSUMED_QUERY_MS) / 1000;
  const needed = ceil(busy) + 1; // one spare for a slow query
  const poolMax = Math.max(needed, Math.min(stack.app.poolMax, fitting));
  const loopback =
    basis.busyConnectionsPerPool === null
      ? ""
      : ` (on the benchmark's loopback PostgreSQL: ${round(basis.busyConnectionsPerPool, 1)} busy)`;
  const recommendations: Recommendation[] = [
    {
      setting: "app.poolMax",
      value: poolMax,
      why:
        `${round(queriesPerSecond, 0)} queries/s x ${ASSUMED_QUERY_MS} ms (assumed Cloud SQL round trip) = ` +
        `${round(busy, 1)} busy${loopback}, + 1 spare = ${needed}; ` +
        `floor(${budget} connections / ${fleet} replicas) = ${fitting} would fit today's max_connections`,
    },
  ];
  if (poolMax * fleet > budget) {
    recommendations.push({
      setting: "database.maxConnections",
      value: ceil((poolMax * fleet * 100) / CONNECTION_BUDGET_PERCENT),
      why: `${poolMax} x ${fleet} replicas within ${CONNECTION_BUDGET_PERCENT} % of it, on the primary and the replica; or a connection pooler`,
    });
  }
  return recommendations;
}

const cloudrunLimitNote = (instances: number): string =>
  instances > CLOUD_RUN_MAX_INSTANCES
    ? `ABOVE the ${CLOUD_RUN_MAX_INSTANCES}-instance limit of one Cloud Run service: one region cannot carry the target; `
    : "";

/**
 * Settings that make the stack carry the target: per-replica limits at the in-flight level where the
 * SLA was verified, replica ceilings computed with those limits, pool sizes inside max_connections.
 */
function recommend(inputs: CapacityInputs): Recommendation[] {
  const { stack, basis } = inputs;
  const verifiedInFlight = basis.connections;
  const concurrency = Math.min(verifiedInFlight, CLOUD_RUN_MAX_CONCURRENCY);
  const tuned: CapacityInputs = {
    basis,
    stack: {
      ...stack,
      app: { ...stack.app, maxInFlight: verifiedInFlight },
      cloudrun: { ...stack.cloudrun, concurrency },
    },
  };
  const d = demand(tuned);
  const gke = planGke(tuned, d);
  const cloudrun = planCloudRun(tuned, d);
  const pool = poolMaximumFor(tuned.stack, gke.requiredReplicas);
  // config.ts checks the connection budget for both platforms, whichever is deployed.
  const fleet = Math.max(gke.requiredReplicas, cloudrun.requiredReplicas);
  const slaNote = basis.slaMet ? "" : " (SLA NOT met there: an upper bound, re-measure)";
  return [
    {
      setting: "app.maxInFlight",
      value: verifiedInFlight,
      why: `one replica met the SLA with ${verifiedInFlight} requests in flight${slaNote}; beyond it requests queue past the SLA, 503 sheds them instead`,
    },
    {
      setting: "cloudrun.concurrency",
      value: concurrency,
      why: "the same in-flight level, so Cloud Run stops routing to an instance where it would start queueing",
    },
    {
      setting: "cloudrun.maxInstances",
      value: cloudrun.requiredReplicas,
      why: `${cloudrunLimitNote(cloudrun.requiredReplicas)}${cloudrun.binding} binds: ${cloudrun.steps
        .slice(2, 4)
        .map((step) => `${step.label} = ${step.value}`)
        .join(", ")}`,
    },
    {
      setting: "gke.maxReplicas",
      value: gke.requiredReplicas,
      why: `${gke.binding} binds: ${gke.steps
        .slice(2, 4)
        .map((step) => `${step.label} = ${step.value}`)
        .join(", ")}`,
    },
    {
      setting: "gke.cpuTargetPercent",
      value: stack.gke.cpuTargetPercent,
      why: `kept: ${100 - stack.gke.cpuTargetPercent} % CPU headroom absorbs bursts while the HPA and the node autoscaler react`,
    },
    {
      setting: "gke.targetRpsPerPod",
      value: floor((d.replicaRps * tuned.stack.gke.cpuTargetPercent) / 100),
      why: `used with gke.hpaMetric rps: ${round(d.replicaRps, 0)} rps per replica at 100 % CPU x the ${tuned.stack.gke.cpuTargetPercent} % target, so both metrics scale at the same load`,
    },
    {
      setting: "gke.maxNodes",
      value: pool.perZone,
      why: `${pool.step.label} = ${pool.perZone}`,
    },
    ...poolRecommendations(stack, basis, d, fleet),
    {
      setting: "NODE_OPTIONS (set from app.memory)",
      value: nodeOptionsFor(stack.app.memory),
      why: `75 % of app.memory ${stack.app.memory}: V8 collects before the container limit kills the process`,
    },
  ];
}

export function planCapacity(inputs: CapacityInputs): CapacityPlan {
  const { basis } = inputs;
  if (!(basis.rps > 0 && basis.meanLatencyMs > 0 && basis.connections > 0 && basis.cpuUtilization > 0)) {
    throw new Error(
      `results: scenario ${basis.scenario} needs a positive rps, mean latency, connection count and CPU utilization`,
    );
  }
  const d = demand(inputs);
  return {
    inputs,
    requestRate: d.requestRate,
    gke: planGke(inputs, d),
    cloudrun: planCloudRun(inputs, d),
    recommendations: recommend(inputs),
  };
}

function formatPlatform(plan: PlatformPlan, inUse: boolean): string[] {
  const title = plan.platform === "gke" ? "GKE" : "Cloud Run";
  return [
    `${title}${inUse ? " (the stack's platform)" : ""}`,
    ...plan.steps.map((step) => `  ${step.label}: ${step.formula} = ${step.value}`),
    `  binding: ${plan.binding}`,
    ...plan.checks.map(
      (check) =>
        `  ${check.covered ? "COVERED    " : "NOT COVERED"}  ${check.setting} = ${check.current}, needs ${check.needs}`,
    ),
  ];
}

export function formatPlan(plan: CapacityPlan): string {
  const { stack, basis } = plan.inputs;
  const inFlight = basis.rps * (basis.meanLatencyMs / 1000);
  const lines = [
    `target: ${stack.targetConcurrentRequests} concurrent requests, platform ${stack.platform}`,
    `basis: scenario "${basis.scenario}" at ${basis.connections} connections: ${round(basis.rps, 0)} rps, ` +
      `mean ${round(basis.meanLatencyMs)} ms, p99.9 ${round(basis.p99_9Ms)} ms, SLA ${basis.slaMet ? "met" : "NOT met"}`,
    `  why: ${basis.why}`,
    `  Little's law on the benchmark itself: ${round(basis.rps, 0)} rps x ${round(basis.meanLatencyMs / 1000, 4)} s = ` +
      `${round(inFlight, 1)} in flight (it drove ${basis.connections})`,
    "",
    ...formatPlatform(plan.gke, stack.platform === "gke"),
    "",
    ...formatPlatform(plan.cloudrun, stack.platform === "cloudrun"),
    "",
    "recommended values:",
    ...plan.recommendations.map((r) => `  ${r.setting}: ${r.value}  # ${r.why}`),
  ];
  return `${lines.join("\n")}\n`;
}
