// `npm run profile [-- --quick] [--scenario NAME] [--server api|floor|bare] [--top N] [--save FILE]
//   [--stack NAME] [--no-pin] [--no-build] [--connections N] [--duration S]`
//
// Where a replica's CPU goes: runs ONE bench scenario (default get-hit, GET /v1/items/{id}) against the
// API started under `node --cpu-prof`, stops it with SIGTERM (node writes the profile as it exits),
// and prints self time per function, split into app code, node_modules and node/V8 internals.
// `--server floor` profiles the bench's floor server instead (node:http plus the API's storage code),
// `--server bare` the bare node:http baseline under the scenario's bare request shape: where the CPU
// of the round trips alone, and of HTTP alone, goes.
// Reuses the bench's pieces: the PostgreSQL pair and Redis of local/, the stack's API settings,
// seeding, scenarios and the autocannon driver.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SERVER_SCRIPT } from "../local/api";
import { startPostgresPair } from "../local/postgres";
import { removeTempDir, trackTempDir } from "../local/processes";
import { startRedis } from "../local/redis";
import {
  formatSummary,
  sourceMapLocator,
  summarizeProfile,
  type CpuProfile,
  type ProfileWindow,
} from "./cpu-profile";
import { measureLoad, warmUp, type LoadSettings } from "./load";
import { pinThisProcess, planCpus } from "./proc";
import { connectFlusher, type Flusher } from "./redis-flush";
import { BARE_SERVER_SCRIPT, buildApi, buildFloorServer, replicaEnv } from "./replica";
import { scenarioNamed, type ScenarioContext } from "./scenarios";
import { readAll, seedItems } from "./seed";
import { startServer, type ServerProcess } from "./server-process";
import { REPO_ROOT, stackConfig as readStackConfig } from "../lib/stack-files";

const DEFAULT_SCENARIO = "get-hit";
const PROFILED_SERVERS = ["api", "floor", "bare"] as const;
type ProfiledServer = (typeof PROFILED_SERVERS)[number];
const SERVER_TITLE: Readonly<Record<ProfiledServer, string>> = {
  api: "the API",
  floor: "the floor server (node:http plus the API's storage code)",
  bare: "the bare node:http server",
};

function profiledServer(raw: string): ProfiledServer {
  const server = PROFILED_SERVERS.find((name) => name === raw);
  if (server === undefined)
    throw new Error(`--server: "${raw}" is not one of ${PROFILED_SERVERS.join(", ")}`);
  return server;
}
const APP_ROOT = join(REPO_ROOT, "app-image");

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`--${name}: "${raw}" must be a positive integer`);
  return value;
}

function parseCli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string", default: DEFAULT_SCENARIO },
      server: { type: "string", default: "api" },
      top: { type: "string" },
      save: { type: "string" },
      stack: { type: "string", default: "prod" },
      "no-pin": { type: "boolean", default: false },
      "no-build": { type: "boolean", default: false },
      connections: { type: "string" },
      duration: { type: "string" },
    },
    strict: true,
  });
  const { quick } = values;
  const load: LoadSettings = {
    connections: positiveInteger("connections", values.connections, quick ? 20 : 100),
    durationSeconds: positiveInteger("duration", values.duration, quick ? 3 : 20),
    warmupSeconds: quick ? 1 : 3,
  };
  return {
    scenario: scenarioNamed(values.scenario),
    server: profiledServer(values.server),
    load,
    seedItems: quick ? 300 : 2_000,
    hitPoolItems: quick ? 100 : 500,
    top: positiveInteger("top", values.top, 20),
    save: values.save === undefined ? undefined : resolve(values.save),
    stack: values.stack,
    pin: !values["no-pin"],
    build: !values["no-build"],
  };
}

const log = (message: string) => process.stderr.write(`${message}\n`);

/** The plain variables a replica of `stack` gets (components/workload/api-environment), PORT aside. */
function onlyProfileIn(dir: string): string {
  const files = readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return join(dir, files[0]);
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const cpuPlan = planCpus(cli.pin);
  pinThisProcess(cpuPlan);
  if (cli.build) buildApi(log);
  const workDir = mkdtempSync(join(tmpdir(), "profile-"));
  trackTempDir(workDir);
  log("starting PostgreSQL primary + replica and Redis");
  const [pg, redis] = await Promise.all([startPostgresPair(), startRedis()]);
  /** The API (always: it migrates and seeds), and the profiled server when that is another one. */
  const started: ServerProcess[] = [];
  let flusher: Flusher | undefined;
  try {
    const profileArgs = ["--cpu-prof", `--cpu-prof-dir=${workDir}`];
    const env = {
      ...replicaEnv(readStackConfig(cli.stack), pg, redis),
      // The profile covers start-up too; no need to keep serving after SIGTERM.
      SHUTDOWN_DRAIN_MS: "0",
    };
    const api = await startServer({
      script: SERVER_SCRIPT,
      nodeArgs: cli.server === "api" ? profileArgs : [],
      env,
      readyPath: "/readyz",
      logFile: join(workDir, "api.log"),
      cpus: cpuPlan,
    });
    started.push(api);
    log(`seeding ${cli.seedItems} items`);
    const ids = await seedItems(api.baseUrl, cli.seedItems);
    const hitIds = ids.slice(0, cli.hitPoolItems);
    await readAll(api.baseUrl, hitIds);
    flusher = await connectFlusher(redis.url);
    const context: ScenarioContext = { ids, hitIds, missIds: ids.slice(cli.hitPoolItems), flusher };

    const profiled =
      cli.server === "api"
        ? api
        : await startServer({
            script: cli.server === "floor" ? await buildFloorServer(workDir) : BARE_SERVER_SCRIPT,
            nodeArgs: profileArgs,
            env: cli.server === "floor" ? env : {},
            readyPath: "/",
            logFile: join(workDir, `${cli.server}.log`),
            cpus: cpuPlan,
          });
    if (profiled !== api) started.push(profiled);
    const scenario = cli.server === "bare" ? scenarioNamed(cli.scenario.bareShape) : cli.scenario;
    const target = {
      label: cli.server === "api" ? scenario.name : `${cli.server} (${scenario.name})`,
      baseUrl: profiled.baseUrl,
      pid: profiled.pid,
      requestsFor: (connection: number, connections: number) =>
        scenario.requestsFor(context, connection, connections),
    };
    await scenario.setUp?.(context);
    // The profile's clock is CLOCK_MONOTONIC in microseconds, as process.hrtime is in this process.
    const monotonicMicros = () => Number(process.hrtime.bigint() / 1_000n);
    let window: ProfileWindow | undefined;
    const figures = await (async () => {
      try {
        await warmUp(target, cli.load);
        const startMicros = monotonicMicros();
        const measured = await measureLoad(target, cli.load);
        window = { startMicros, endMicros: monotonicMicros() };
        return measured;
      } finally {
        await scenario.tearDown?.(context);
      }
    })();

    started.splice(started.indexOf(profiled), 1);
    const exit = await profiled.stop("SIGTERM");
    if (exit.code !== 0) {
      const logFile = join(workDir, `${cli.server}.log`);
      throw new Error(
        `the ${cli.server} server exited with ${JSON.stringify(exit)}:\n${readFileSync(logFile, "utf8").slice(-2_000)}`,
      );
    }
    const profilePath = onlyProfileIn(workDir);
    if (cli.save !== undefined) copyFileSync(profilePath, cli.save);
    const profile = JSON.parse(readFileSync(profilePath, "utf8")) as CpuProfile;
    const summary = summarizeProfile(profile, {
      repoRoot: REPO_ROOT,
      appRoot: APP_ROOT,
      window,
      locate: sourceMapLocator(),
    });
    const cpuMicros = (figures.server.cpuSeconds * 1e6) / Math.max(figures.requests, 1);
    process.stdout.write(
      [
        `scenario ${scenario.name}: ${scenario.description}; profiled: ${SERVER_TITLE[cli.server]}`,
        `${cli.load.connections} connections, ${figures.durationSeconds.toFixed(0)} s measured: ${figures.rps.toFixed(0)} rps (2xx), server CPU ${(100 * figures.server.cpuUtilization).toFixed(0)} %, ${cpuMicros.toFixed(0)} µs per request (/proc)`,
        `profile: the measured window only (${figures.requests} requests); µs/req is self time per request served${cli.save === undefined ? "" : `; whole profile saved to ${cli.save}`}`,
        "",
        formatSummary(summary, cli.top, figures.requests),
        "",
      ].join("\n"),
    );
  } finally {
    flusher?.close();
    await Promise.all(started.map((server) => server.stop("SIGKILL")));
    await Promise.all([redis.stop(), pg.stop()]);
    removeTempDir(workDir);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
