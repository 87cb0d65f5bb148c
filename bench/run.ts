// `npm run bench [-- --quick] [--readme] [--scenario NAME]... [--out PATH] [--stack NAME] [--no-pin] [--no-build]
//   [--connections N] [--duration S] [--warmup S] [--env NAME=value]...`
//
// Measures what ONE replica of the API sustains: builds the API, starts a PostgreSQL primary + streaming
// replica and Redis (local/), starts the API with the stack's production settings on its own
// CPU, seeds items through the API, drives each scenario with autocannon, then the same scenarios
// against the floor server (node:http plus the API's storage code: what the round trips cost alone),
// then a bare node:http server the same way as the baseline. Prints a table and writes
// bench/results.json for `npm run capacity`.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { SERVER_SCRIPT } from "../local/api";
import { startPostgresPair } from "../local/postgres";
import { trackTempDir } from "../local/processes";
import { startRedis } from "../local/redis";
import { hitRatio, readCacheCounters } from "./api-metrics";
import { connectActivitySampler, type ActivitySampler } from "./db-activity";
import { measureRuntimeImage } from "./image-size";
import { writeReadmeSummary } from "./readme-summary";
import { measureLoad, warmUp, type LoadSettings, type LoadTarget } from "./load";
import { peakRssMiB, pinThisProcess, planCpus, rssMiB, type CpuPlan } from "./proc";
import { connectFlusher, type Flusher } from "./redis-flush";
import { buildApi, buildFloorServer, replicaEnv } from "./replica";
import { formatResults, formatStartup, judgeSla } from "./report";
import type { BenchResults, LoadFigures, ScenarioResult } from "./results";
import {
  BASELINE_SCENARIO,
  SCENARIOS,
  scenarioNamed,
  type Scenario,
  type ScenarioContext,
} from "./scenarios";
import { seedItems, readAll } from "./seed";
import { startServer, type ServerProcess } from "./server-process";
import { REPO_ROOT, stackConfig as readStackConfig } from "../lib/stack-files";

const BARE_SERVER_SCRIPT = join(__dirname, "bare-server.mjs");
const DEFAULT_OUT = join(__dirname, "results.json");

interface RunSettings extends LoadSettings {
  readonly quick: boolean;
  readonly seedItems: number;
  readonly hitPoolItems: number;
  readonly startups: number;
  readonly measureImage: boolean;
}

interface Cli {
  readonly settings: RunSettings;
  readonly scenarios: readonly Scenario[];
  readonly out: string;
  readonly stack: string;
  readonly pin: boolean;
  readonly build: boolean;
  /** Extra or replaced API environment variables, for experiments (`--env LOG_LEVEL=warn`). */
  readonly envOverrides: Readonly<Record<string, string>>;
  /** Only time start-ups (and print each step's cost): no load, nothing written. */
  readonly startupOnly: boolean;
  /** `--readme`: rewrite README's summary from bench/results.json, measure nothing. */
  readonly readmeOnly: boolean;
  readonly fullRun: boolean;
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name}: "${raw}" must be a positive number`);
  return value;
}

function parseAssignment(assignment: string): [string, string] {
  const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(assignment);
  if (match === null) throw new Error(`--env: "${assignment}" must look like NAME=value`);
  return [match[1], match[2]];
}

function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string", multiple: true },
      out: { type: "string" },
      stack: { type: "string", default: "prod" },
      "no-pin": { type: "boolean", default: false },
      "no-build": { type: "boolean", default: false },
      env: { type: "string", multiple: true },
      connections: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      startup: { type: "boolean", default: false },
      startups: { type: "string" },
      readme: { type: "boolean", default: false },
    },
    strict: true,
  });
  const quick = values.quick;
  const warmup = values.warmup === undefined ? (quick ? 1 : 5) : Number(values.warmup);
  if (!Number.isFinite(warmup) || warmup < 0) throw new Error(`--warmup: "${values.warmup}" must be >= 0`);
  return {
    settings: {
      quick,
      connections: Math.round(positive("connections", values.connections, quick ? 50 : 200)),
      durationSeconds: positive("duration", values.duration, quick ? 3 : 30),
      warmupSeconds: warmup,
      seedItems: quick ? 1_000 : 10_000,
      hitPoolItems: quick ? 200 : 1_000,
      startups: Math.round(positive("startups", values.startups, quick ? 1 : values.startup ? 11 : 5)),
      measureImage: !quick,
    },
    scenarios: values.scenario === undefined ? SCENARIOS : values.scenario.map(scenarioNamed),
    out: resolve(values.out ?? DEFAULT_OUT),
    stack: values.stack,
    pin: !values["no-pin"],
    build: !values["no-build"],
    envOverrides: Object.fromEntries((values.env ?? []).map(parseAssignment)),
    startupOnly: values.startup,
    readmeOnly: values.readme,
    // Only a run with every default may stand for the API in README's summary.
    fullRun:
      !quick &&
      values.scenario === undefined &&
      values.out === undefined &&
      values.stack === "prod" &&
      !values["no-pin"] &&
      [values.connections, values.duration, values.warmup, values.env].every((value) => value === undefined),
  };
}

const log = (message: string) => process.stderr.write(`${message}\n`);

/** The environment a replica of `stack` gets (components/workload/api-environment), pointed at the local servers. */
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The step timings of the API's "listening" log line (app-image/src/server.ts), if it logged one. */
function startupSteps(logFile: string): Record<string, number> | undefined {
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"startup"')) continue;
    const parsed = JSON.parse(line) as { startup?: Record<string, number> };
    if (parsed.startup) return parsed.startup;
  }
  return undefined;
}

/**
 * Spawn-to-ready times of fresh API processes next to the running one (the schema already exists),
 * and the median of each step the API reports.
 */
async function measureStartups(count: number, env: Record<string, string>, logDir: string, cpuPlan: CpuPlan) {
  const readyMs: number[] = [];
  const bareReadyMs: number[] = [];
  const steps = new Map<string, number[]>();
  for (let attempt = 0; attempt < count; attempt++) {
    const logFile = join(logDir, `startup-${attempt}.log`);
    const server = await startServer({
      script: SERVER_SCRIPT,
      env: { ...env, SHUTDOWN_DRAIN_MS: "0" },
      readyPath: "/readyz",
      logFile,
      cpus: cpuPlan,
    });
    readyMs.push(server.readyMs);
    await server.stop();
    // The same spawn for the bare server: what node itself costs on this machine right now.
    const bare = await startServer({
      script: BARE_SERVER_SCRIPT,
      env: {},
      readyPath: "/",
      logFile: join(logDir, `startup-bare-${attempt}.log`),
      cpus: cpuPlan,
    });
    bareReadyMs.push(bare.readyMs);
    await bare.stop();
    for (const [step, ms] of Object.entries(startupSteps(logFile) ?? {})) {
      steps.set(step, [...(steps.get(step) ?? []), ms]);
    }
  }
  const medianStepsMs = Object.fromEntries([...steps].map(([step, values]) => [step, median(values)]));
  return { readyMs, medianReadyMs: median(readyMs), medianStepsMs, bareMedianReadyMs: median(bareReadyMs) };
}

const cpuMicrosPerRequest = (figures: LoadFigures) =>
  figures.requests > 0 ? (figures.server.cpuSeconds * 1e6) / figures.requests : 0;

interface ScenarioRun {
  readonly api: ServerProcess;
  readonly context: ScenarioContext;
  readonly sampler: ActivitySampler;
  readonly settings: LoadSettings;
}

/** Set-up, warm-up, `measure`, tear-down of one scenario against one server. */
async function underScenario<T>(
  scenario: Scenario,
  server: ServerProcess,
  label: string,
  { context, settings }: { readonly context: ScenarioContext; readonly settings: LoadSettings },
  measure: (target: LoadTarget) => Promise<T>,
): Promise<T> {
  const target: LoadTarget = {
    label,
    baseUrl: server.baseUrl,
    pid: server.pid,
    requestsFor: (connection, connections) => scenario.requestsFor(context, connection, connections),
  };
  await scenario.setUp?.(context);
  try {
    await warmUp(target, settings);
    return await measure(target);
  } finally {
    await scenario.tearDown?.(context);
  }
}

async function runScenario(scenario: Scenario, run: ScenarioRun): Promise<ScenarioResult> {
  const { api, sampler, settings } = run;
  return underScenario(scenario, api, scenario.name, run, async (target) => {
    const countersBefore = await readCacheCounters(api.baseUrl);
    sampler.start();
    const figures = await measureLoad(target, settings);
    const database = sampler.stop();
    const countersAfter = await readCacheCounters(api.baseUrl);
    return {
      ...figures,
      name: scenario.name,
      description: scenario.description,
      cacheHitRatio: scenario.readsById ? hitRatio(countersBefore, countersAfter) : null,
      apiToBareRps: null,
      cpuMicrosPerRequest: cpuMicrosPerRequest(figures),
      bare: null,
      cpuToBare: null,
      floor: null,
      database,
      sla: judgeSla(figures, scenario.sla),
    };
  });
}

/**
 * Every scenario again against the floor server (bench/floor-server.ts) in one process, as the API
 * ran them: the same environment, request shapes and cache state, the hit pool read in first.
 */
async function runFloor(
  scenarios: readonly Scenario[],
  env: Record<string, string>,
  logDir: string,
  cpuPlan: CpuPlan,
  run: { readonly context: ScenarioContext; readonly settings: LoadSettings },
): Promise<Map<string, LoadFigures>> {
  const floor = await startServer({
    script: await buildFloorServer(logDir),
    env,
    readyPath: "/",
    logFile: join(logDir, "floor.log"),
    cpus: cpuPlan,
  });
  try {
    await readAll(floor.baseUrl, run.context.hitIds);
    const figures = new Map<string, LoadFigures>();
    for (const scenario of scenarios) {
      const label = `floor (${scenario.name})`;
      const measured = await underScenario(scenario, floor, label, run, (target) =>
        measureLoad(target, run.settings),
      );
      const failed = measured.errors + measured.non2xx;
      if (failed > 0)
        throw new Error(`${label}: ${failed} requests failed; see ${join(logDir, "floor.log")}`);
      log(`${label}: ${measured.rps.toFixed(0)} rps, ${cpuMicrosPerRequest(measured).toFixed(0)} µs/req`);
      figures.set(scenario.name, measured);
    }
    return figures;
  } finally {
    await floor.stop();
  }
}

async function runBaseline(
  settings: LoadSettings,
  logDir: string,
  cpuPlan: CpuPlan,
  context: ScenarioContext,
  shapeName: string,
) {
  const bare = await startServer({
    script: BARE_SERVER_SCRIPT,
    env: {},
    readyPath: "/",
    logFile: join(logDir, `bare-${shapeName}.log`),
    cpus: cpuPlan,
  });
  try {
    const shape = scenarioNamed(shapeName);
    const target: LoadTarget = {
      label: `bare node:http (${shapeName} shape)`,
      baseUrl: bare.baseUrl,
      pid: bare.pid,
      requestsFor: (connection, connections) => shape.requestsFor(context, connection, connections),
    };
    await warmUp(target, settings);
    return await measureLoad(target, settings);
  } finally {
    await bare.stop();
  }
}

function machineInfo(loadAverageAtStart: number[]): BenchResults["machine"] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${osType()} ${release()}`,
    date: new Date().toISOString(),
    loadAverageAtStart,
  };
}

function methodNotes(cpuPlan: CpuPlan, stackName: string): string[] {
  return [
    `API environment: the ${stackName} stack's app settings through components/workload/api-environment (pool size, MAX_IN_FLIGHT, cache TTL, LOG_LEVEL, NODE_OPTIONS); stdout to a file`,
    cpuPlan.serverCpu === null
      ? "server not pinned: it shares the CPUs with the load generator, PostgreSQL and Redis"
      : "the API runs alone on one CPU (taskset), so rps is per vCPU; load generator, PostgreSQL and Redis share the other",
    "PostgreSQL runs with fsync=off and synchronous_commit=off on loopback: writes are cheaper than on Cloud SQL",
    "rps counts 2xx responses; latency percentiles are autocannon's (1 ms resolution), all statuses included",
    "get-miss: ids never read before, Redis FLUSHALL every 250 ms; cache hits is the measured share from /metrics",
    "mixed is judged by the GET bound (its strictest); api/bare rps is against the bare server under the get-hit request shape",
    "CPU µs/req is the server's user + system CPU over the measured window (/proc) per response; x bare divides it by the bare node:http server's under the same request shape (GETs: get-hit's), measured in the same run",
  ];
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadAverageAtStart = loadavg().map((load) => Math.round(load * 100) / 100);
  const cli = parseCli(process.argv.slice(2));
  if (cli.readmeOnly) {
    writeReadmeSummary();
    process.stdout.write("wrote README.md's bench summary from bench/results.json\n");
    return;
  }
  const { settings } = cli;
  const cpuPlan = planCpus(cli.pin);
  pinThisProcess(cpuPlan);
  const stack = readStackConfig(cli.stack);

  if (cli.build) buildApi(log);

  const logDir = mkdtempSync(join(tmpdir(), "bench-logs-"));
  trackTempDir(logDir);
  log("starting PostgreSQL primary + replica and Redis");
  const [pg, redis] = await Promise.all([startPostgresPair(), startRedis()]);
  let flusher: Flusher | undefined;
  let sampler: ActivitySampler | undefined;
  let api: ServerProcess | undefined;
  try {
    const env = { ...replicaEnv(stack, pg, redis), ...cli.envOverrides };
    api = await startServer({
      script: SERVER_SCRIPT,
      env,
      readyPath: "/readyz",
      logFile: join(logDir, "api.log"),
      cpus: cpuPlan,
    });
    await new Promise((resolveSettle) => setTimeout(resolveSettle, 2_000));
    const idleRssMiB = rssMiB(api.pid);
    log(
      `API ready in ${api.readyMs.toFixed(0)} ms, idle RSS ${idleRssMiB.toFixed(0)} MiB; timing ${settings.startups} more starts`,
    );
    const startup = await measureStartups(settings.startups, env, logDir, cpuPlan);
    if (cli.startupOnly) {
      process.stdout.write(`${formatStartup(startup)}\n`);
      return;
    }

    log(`seeding ${settings.seedItems} items`);
    const ids = await seedItems(api.baseUrl, settings.seedItems);
    const hitIds = ids.slice(0, settings.hitPoolItems);
    await readAll(api.baseUrl, hitIds);
    flusher = await connectFlusher(redis.url);
    sampler = await connectActivitySampler(pg.primaryUrl, pg.replicaUrl);
    const context: ScenarioContext = { ids, hitIds, missIds: ids.slice(settings.hitPoolItems), flusher };

    const scenarios: ScenarioResult[] = [];
    for (const scenario of cli.scenarios) {
      const result = await runScenario(scenario, { api, context, sampler, settings });
      log(
        `${scenario.name}: ${result.rps.toFixed(0)} rps, p99.9 ${result.latencyMs.p99_9} ms, ${result.sla.verdict}`,
      );
      scenarios.push(result);
    }
    const peakRssUnderLoadMiB = peakRssMiB(api.pid);
    await api.stop();
    api = undefined;

    log("floor: node:http plus the API's storage code, every scenario again");
    const floorByScenario = await runFloor(cli.scenarios, env, logDir, cpuPlan, { context, settings });

    // The bare server under each request shape the scenarios need: a POST costs even node:http more
    // than a GET, so each scenario's CPU is compared with the bare cost of the same requests.
    const shapes = [...new Set([BASELINE_SCENARIO, ...cli.scenarios.map((scenario) => scenario.bareShape)])];
    const bareByShape = new Map<string, LoadFigures>();
    for (const shape of shapes) {
      log(`baseline: bare node:http server, ${shape} request shape`);
      bareByShape.set(shape, await runBaseline(settings, logDir, cpuPlan, context, shape));
    }
    const baseline = bareByShape.get(BASELINE_SCENARIO);
    if (baseline === undefined) throw new Error("the bare baseline did not run");
    for (const scenario of scenarios) {
      scenario.apiToBareRps = baseline.rps > 0 ? scenario.rps / baseline.rps : null;
      const shape = scenarioNamed(scenario.name).bareShape;
      const bare = bareByShape.get(shape);
      if (bare === undefined) continue;
      const bareMicros = cpuMicrosPerRequest(bare);
      const inBareRequests = (micros: number) => (bareMicros > 0 ? micros / bareMicros : null);
      scenario.bare = { shape, cpuMicrosPerRequest: bareMicros, rps: bare.rps };
      scenario.cpuToBare = inBareRequests(scenario.cpuMicrosPerRequest ?? 0);
      const floor = floorByScenario.get(scenario.name);
      if (floor === undefined) continue;
      const floorMicros = cpuMicrosPerRequest(floor);
      scenario.floor = {
        cpuMicrosPerRequest: floorMicros,
        rps: floor.rps,
        cpuToBare: inBareRequests(floorMicros),
      };
    }

    let image: { appLayerMiB: number | null; base: string | null } = { appLayerMiB: null, base: null };
    if (settings.measureImage) {
      log("measuring the runtime image's layers (the files its runtime stage copies)");
      image = measureRuntimeImage(join(REPO_ROOT, "app-image"));
    }

    const results: BenchResults = {
      machine: machineInfo(loadAverageAtStart),
      settings: {
        quick: settings.quick,
        connections: settings.connections,
        durationSeconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        seedItems: settings.seedItems,
        hitPoolItems: settings.hitPoolItems,
        serverCpu: cpuPlan.serverCpu,
        loadCpu: cpuPlan.loadCpu,
        apiEnv: Object.fromEntries(Object.entries(env).filter(([name]) => !/URL|CERT/.test(name))),
        notes: methodNotes(cpuPlan, cli.stack),
      },
      scenarios,
      baseline: { ...baseline, description: "bare node:http server, fixed JSON body, get-hit request shape" },
      startup,
      footprint: {
        idleRssMiB,
        peakRssUnderLoadMiB,
        imageAppLayerMiB: image.appLayerMiB,
        imageBase: image.base,
        imageNote: settings.measureImage
          ? "the bundled server the runtime stage copies (dist/main.js, dist/server.js); base image not included"
          : "skipped (--quick)",
      },
      totalSeconds: (performance.now() - startedAt) / 1000,
    };
    mkdirSync(dirname(cli.out), { recursive: true });
    writeFileSync(cli.out, `${JSON.stringify(results, null, 2)}\n`);
    // A partial or experimental run leaves README's summary alone.
    if (cli.fullRun) writeReadmeSummary(results);
    process.stdout.write(
      `${formatResults(results)}\n\nwritten: ${cli.out} (${results.totalSeconds.toFixed(0)} s)\n`,
    );
  } finally {
    flusher?.close();
    await sampler?.close();
    await api?.stop("SIGKILL");
    await Promise.all([redis.stop(), pg.stop()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
