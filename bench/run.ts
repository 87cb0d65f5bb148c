// `npm run bench [-- --quick] [--readme] [--scenario NAME]... [--out PATH] [--stack NAME] [--no-pin] [--no-build]
//   [--connections N] [--duration S] [--warmup S] [--rounds N] [--env NAME=value]...`
//
// Measures what ONE replica of the API sustains: builds the API, starts a PostgreSQL primary + streaming
// replica and Redis (local/), starts the API with the stack's production settings on its own
// CPU, seeds items through the API, then starts the floor server (node:http plus the API's storage
// code: what the round trips cost alone) and a bare node:http server as the baseline on that same CPU.
// Each scenario drives all three with autocannon in interleaved rounds (bench/rounds.ts). Prints a
// table and writes bench/results.json for `npm run capacity`.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { SERVER_SCRIPT } from "../local/api";
import { startPostgresPair } from "../local/postgres";
import { trackTempDir } from "../local/processes";
import { startRedis } from "../local/redis";
import { hitRatio, readCacheCounters, type CacheCounters } from "./api-metrics";
import { connectActivitySampler, type ActivitySampler, type BusyConnections } from "./db-activity";
import { measureRuntimeImage } from "./image-size";
import { writeReadmeSummary } from "./readme-summary";
import { measureLoad, warmUp, type LoadSettings, type LoadTarget } from "./load";
import { peakRssMiB, pinThisProcess, planCpus, rssMiB, type CpuPlan } from "./proc";
import { connectFlusher, type Flusher } from "./redis-flush";
import { BARE_SERVER_SCRIPT, buildApi, buildFloorServer, replicaEnv } from "./replica";
import { formatResults, formatStartup, judgeSla, micros, roundRatios } from "./report";
import type { BenchResults, LoadFigures, ScenarioResult } from "./results";
import { poolBusyConnections, poolRounds, roundOrder, roundSeconds } from "./rounds";
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

const DEFAULT_OUT = join(__dirname, "results.json");

interface RunSettings extends LoadSettings {
  readonly quick: boolean;
  /** The measured seconds of each server are split into this many interleaved rounds. */
  readonly rounds: number;
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
      rounds: { type: "string" },
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
      rounds: Math.round(positive("rounds", values.rounds, quick ? 2 : 5)),
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
      [values.connections, values.duration, values.warmup, values.rounds, values.env].every(
        (value) => value === undefined,
      ),
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

/** The three servers a scenario compares: the API, the floor (its round trips alone) and bare node:http. */
interface Contenders {
  readonly api: ServerProcess;
  readonly floor: ServerProcess;
  readonly bare: ServerProcess;
}
type Role = keyof Contenders;
const ROLES: readonly Role[] = ["api", "floor", "bare"];

interface ScenarioRun {
  readonly servers: Contenders;
  readonly context: ScenarioContext;
  readonly sampler: ActivitySampler;
  readonly settings: RunSettings;
  readonly logDir: string;
}

interface ScenarioMeasurement {
  readonly result: ScenarioResult;
  /** The bare server's pooled figures under the scenario's bare request shape. */
  readonly bare: LoadFigures;
}

/**
 * One scenario against all three servers: set-up, a warm-up of each, then `settings.rounds` rounds in
 * which each server is measured in turn (bench/rounds.ts), tear-down. The API's busy database
 * connections and cache counters cover its rounds only.
 */
async function measureScenario(scenario: Scenario, run: ScenarioRun): Promise<ScenarioMeasurement> {
  const { servers, context, sampler, settings } = run;
  const bareShape = scenarioNamed(scenario.bareShape);
  const labels: Record<Role, string> = {
    api: scenario.name,
    floor: `floor (${scenario.name})`,
    bare: `bare node:http (${bareShape.name} shape)`,
  };
  const targetOf = (role: Role, label = labels[role]): LoadTarget => ({
    label,
    baseUrl: servers[role].baseUrl,
    pid: servers[role].pid,
    requestsFor: (connection, connections) =>
      (role === "bare" ? bareShape : scenario).requestsFor(context, connection, connections),
  });
  const rounds: Record<Role, LoadFigures[]> = { api: [], floor: [], bare: [] };
  const busy: BusyConnections[] = [];
  const window: LoadSettings = {
    ...settings,
    durationSeconds: roundSeconds(settings.durationSeconds, settings.rounds),
  };
  await scenario.setUp?.(context);
  let countersBefore: CacheCounters | undefined;
  let countersAfter: CacheCounters | undefined;
  try {
    for (const role of ROLES) await warmUp(targetOf(role), settings);
    countersBefore = await readCacheCounters(servers.api.baseUrl);
    for (let round = 0; round < settings.rounds; round++) {
      for (const role of roundOrder(ROLES, round)) {
        const target = targetOf(role, `${labels[role]}, round ${round + 1}/${settings.rounds}`);
        if (role === "api") sampler.start();
        rounds[role].push(await measureLoad(target, window));
        if (role === "api") busy.push(sampler.stop());
      }
    }
    countersAfter = await readCacheCounters(servers.api.baseUrl);
  } finally {
    await scenario.tearDown?.(context);
  }
  const [api, floor, bare] = ROLES.map((role) => poolRounds(rounds[role]));
  const floorFailed = floor.errors + floor.non2xx;
  if (floorFailed > 0)
    throw new Error(`${labels.floor}: ${floorFailed} requests failed; see ${join(run.logDir, "floor.log")}`);
  const bareMicros = cpuMicrosPerRequest(bare);
  const inBareRequests = (micros: number) => (bareMicros > 0 ? micros / bareMicros : null);
  const floorMicros = cpuMicrosPerRequest(floor);
  const perRound = (role: Role) => rounds[role].map(cpuMicrosPerRequest);
  return {
    bare,
    result: {
      ...api,
      name: scenario.name,
      description: scenario.description,
      cacheHitRatio: scenario.readsById ? hitRatio(countersBefore, countersAfter) : null,
      apiToBareRps: null,
      cpuMicrosPerRequest: cpuMicrosPerRequest(api),
      bare: { shape: bareShape.name, cpuMicrosPerRequest: bareMicros, rps: bare.rps },
      cpuToBare: inBareRequests(cpuMicrosPerRequest(api)),
      floor: { cpuMicrosPerRequest: floorMicros, rps: floor.rps, cpuToBare: inBareRequests(floorMicros) },
      cpuMicrosPerRound: { api: perRound("api"), floor: perRound("floor"), bare: perRound("bare") },
      database: poolBusyConnections(busy),
      sla: judgeSla(api, scenario.sla),
    },
  };
}

/** The bare server alone under the baseline request shape, for runs whose scenarios never used it. */
async function measureBaseline(bare: ServerProcess, settings: LoadSettings, context: ScenarioContext) {
  const shape = scenarioNamed(BASELINE_SCENARIO);
  const target: LoadTarget = {
    label: `bare node:http (${shape.name} shape)`,
    baseUrl: bare.baseUrl,
    pid: bare.pid,
    requestsFor: (connection, connections) => shape.requestsFor(context, connection, connections),
  };
  await warmUp(target, settings);
  return measureLoad(target, settings);
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
      : "the API, floor and bare servers share one CPU (taskset) and take turns, so the measured one runs alone and rps is per vCPU; load generator, PostgreSQL and Redis share the other",
    "each server's measured seconds are split into rounds (settings.rounds) in which API, floor and bare take turns in a rotating order; figures pool the rounds (counts and CPU add up, mean latency weighted by responses, percentiles and peak RSS the highest round's)",
    "PostgreSQL runs with fsync=off and synchronous_commit=off on loopback: writes are cheaper than on Cloud SQL",
    "rps counts 2xx responses; latency percentiles are autocannon's (1 ms resolution), all statuses included",
    "get-miss: ids never read before, Redis FLUSHALL every 250 ms; cache hits is the measured share from /metrics",
    "mixed is judged by the GET bound (its strictest); api/bare rps is against the bare server under the get-hit request shape",
    "CPU µs/req is the server's user + system CPU over the measured window (/proc) per response; x bare divides it by the bare node:http server's under the same request shape (GETs: get-hit's), measured in the same rounds",
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
  /** Every server started so far, stopped together at the end. */
  const started: ServerProcess[] = [];
  try {
    const env = { ...replicaEnv(stack, pg, redis), ...cli.envOverrides };
    const api = await startServer({
      script: SERVER_SCRIPT,
      env,
      readyPath: "/readyz",
      logFile: join(logDir, "api.log"),
      cpus: cpuPlan,
    });
    started.push(api);
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

    log("starting the floor server (node:http plus the API's storage code) and the bare node:http server");
    const floor = await startServer({
      script: await buildFloorServer(logDir),
      env,
      readyPath: "/",
      logFile: join(logDir, "floor.log"),
      cpus: cpuPlan,
    });
    started.push(floor);
    // The floor keeps its own cache entries warm the way the API's were: the hit pool read once.
    await readAll(floor.baseUrl, hitIds);
    const bare = await startServer({
      script: BARE_SERVER_SCRIPT,
      env: {},
      readyPath: "/",
      logFile: join(logDir, "bare.log"),
      cpus: cpuPlan,
    });
    started.push(bare);

    const run: ScenarioRun = { servers: { api, floor, bare }, context, sampler, settings, logDir };
    const scenarios: ScenarioResult[] = [];
    const bareByShape = new Map<string, LoadFigures>();
    for (const scenario of cli.scenarios) {
      const measured = await measureScenario(scenario, run);
      const { result } = measured;
      const rounds = result.cpuMicrosPerRound;
      log(
        `${scenario.name}: ${result.rps.toFixed(0)} rps, p99.9 ${result.latencyMs.p99_9} ms, ${result.sla.verdict}; ` +
          `µs/req api ${micros(result.cpuMicrosPerRequest)}, floor ${micros(result.floor?.cpuMicrosPerRequest)}, ` +
          `bare ${micros(result.bare?.cpuMicrosPerRequest)}; api x bare by round ${
            rounds === undefined ? "-" : roundRatios(rounds.api, rounds.bare)
          }`,
      );
      scenarios.push(result);
      if (!bareByShape.has(scenario.bareShape)) bareByShape.set(scenario.bareShape, measured.bare);
    }
    const peakRssUnderLoadMiB = peakRssMiB(api.pid);
    const baseline = bareByShape.get(BASELINE_SCENARIO) ?? (await measureBaseline(bare, settings, context));
    for (const scenario of scenarios)
      scenario.apiToBareRps = baseline.rps > 0 ? scenario.rps / baseline.rps : null;

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
        rounds: settings.rounds,
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
    await Promise.all(started.map((server) => server.stop("SIGKILL")));
    await Promise.all([redis.stop(), pg.stop()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
