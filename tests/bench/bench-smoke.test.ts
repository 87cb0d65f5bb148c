// `npm run bench` end to end in its smallest form (--quick, one scenario): real PostgreSQL pair, Redis,
// API, floor and baseline servers. Asserts the pipeline produced figures, never what they are.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchResultsSchema } from "../../bench/results";
import { exitOf, stopChild } from "../../local/processes";

const REPO_ROOT = resolve(__dirname, "..", "..");

describe("npm run bench -- --quick --scenario get-hit", function () {
  this.timeout(90_000);
  let dir: string;
  let bench: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  });
  after(async () => {
    // SIGTERM lets the bench stop the servers it started (local/processes exit handler).
    if (bench !== undefined) await stopChild(bench, "SIGTERM", 10_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("measures the scenario, the floor and the bare baseline and writes them to --out", async () => {
    const out = join(dir, "results.json");
    // The suite builds app-image before mocha; --no-build keeps the smoke run short.
    bench = spawn(
      process.execPath,
      [
        join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs"),
        "bench/run.ts",
        "--quick",
        "--no-build",
        "--scenario",
        "get-hit",
        "--out",
        out,
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    bench.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    bench.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const { code } = await exitOf(bench);
    assert.equal(code, 0, output);

    const results = benchResultsSchema.parse(JSON.parse(readFileSync(out, "utf8")));
    assert.deepEqual(
      results.scenarios.map((scenario) => scenario.name),
      ["get-hit"],
    );
    const [getHit] = results.scenarios;
    assert.ok(getHit.rps > 0, `get-hit rps ${getHit.rps}`);
    assert.ok(getHit.requests > 0 && getHit.server.cpuSeconds > 0, JSON.stringify(getHit));
    assert.ok(results.baseline !== null && results.baseline.rps > 0, "the bare baseline has a positive rps");
    assert.ok(getHit.apiToBareRps !== null && getHit.apiToBareRps > 0, "the api/bare ratio is computed");
    assert.ok(
      getHit.floor && getHit.floor.rps > 0 && getHit.floor.cpuMicrosPerRequest > 0 && getHit.floor.cpuToBare,
      `the floor server ran the scenario: ${JSON.stringify(getHit.floor)}`,
    );
    assert.equal(results.startup.readyMs.length, 1);
    assert.ok(results.footprint.idleRssMiB > 0);
    assert.match(output, /\| get-hit +\| \d+/, "the table is printed");
  });
});
