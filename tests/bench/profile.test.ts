// `npm run profile`: the self-time aggregation on a hand-made profile, then the real thing in its
// smallest form (--quick) against a real PostgreSQL pair, Redis and API. Asserts the output's shape,
// never the figures.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sourceMapLocator, summarizeProfile, type CpuProfile } from "../../bench/cpu-profile";
import { exitOf, stopChild } from "../../local/processes";

const REPO_ROOT = resolve(__dirname, "..", "..");
const APP_ROOT = `${REPO_ROOT}/app-image`;
const APP_DIST = `${APP_ROOT}/dist`;

describe("bench/cpu-profile summarizeProfile", () => {
  const frame = (id: number, functionName: string, url: string, lineNumber: number) => ({
    id,
    callFrame: { functionName, url, lineNumber },
  });
  // 10 samples over 100 ms: 10 ms each.
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 100_000,
    nodes: [
      frame(1, "(root)", "", -1),
      frame(2, "(idle)", "", -1),
      frame(3, "handler", `file://${APP_DIST}/items/routes.js`, 9),
      // the same function reached through another call path: a second node, the same group
      frame(4, "handler", `file://${APP_DIST}/items/routes.js`, 9),
      frame(5, "serialize", `file://${REPO_ROOT}/app-image/node_modules/fastify/lib/reply.js`, 99),
      frame(6, "emit", "node:events", 470),
      frame(7, "(garbage collector)", "", -1),
    ],
    samples: [2, 2, 3, 4, 4, 5, 5, 5, 6, 7],
  };

  it("adds self time per function and file:line, splits it by origin and leaves idle out of the busy time", () => {
    const summary = summarizeProfile(profile, { repoRoot: REPO_ROOT, appRoot: APP_ROOT });
    assert.equal(summary.wallMs, 100);
    assert.equal(summary.idleMs, 20);
    assert.equal(summary.busyMs, 80);
    assert.deepEqual(
      summary.functions.map(({ name, location, origin, selfMs }) => [name, location, origin, selfMs]),
      [
        ["handler", "app-image/dist/items/routes.js:10", "app", 30],
        ["serialize", "fastify/lib/reply.js:100", "node_modules", 30],
        ["emit", "node:events:471", "node", 10],
        ["(garbage collector)", "", "native", 10],
      ],
    );
    assert.deepEqual(summary.byOrigin, { app: 30, node_modules: 30, node: 10, native: 10 });
    assert.deepEqual(summary.byPackage, [{ name: "fastify", selfMs: 30 }]);
  });

  it("counts a bundle's frames for the package or app module its source map names", () => {
    const dir = mkdtempSync(join(tmpdir(), "profile-map-"));
    try {
      const bundle = join(dir, "dist", "server.js");
      // Line 1, columns 0-4 come from the app's routes.ts line 1; from column 5 on, pg's client.js line 2.
      const map = {
        version: 3,
        sources: ["../src/routes.ts", "../node_modules/pg/lib/client.js"],
        names: [],
        mappings: "AAAA,KCCA",
      };
      mkdirSync(join(dir, "dist"));
      writeFileSync(`${bundle}.map`, JSON.stringify(map));
      const bundled: CpuProfile = {
        startTime: 0,
        endTime: 30_000,
        nodes: [
          {
            id: 1,
            callFrame: { functionName: "handler", url: `file://${bundle}`, lineNumber: 0, columnNumber: 1 },
          },
          {
            id: 2,
            callFrame: { functionName: "query", url: `file://${bundle}`, lineNumber: 0, columnNumber: 7 },
          },
        ],
        samples: [1, 2, 2],
      };
      const summary = summarizeProfile(bundled, { repoRoot: dir, appRoot: dir, locate: sourceMapLocator() });
      assert.deepEqual(
        summary.functions.map(({ name, location, origin, selfMs }) => [name, location, origin, selfMs]),
        [
          ["query", "pg/lib/client.js:2", "node_modules", 20],
          ["handler", "src/routes.ts:1", "app", 10],
        ],
      );
      assert.deepEqual(summary.byPackage, [{ name: "pg", selfMs: 20 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run profile -- --quick", function () {
  this.timeout(90_000);
  let profiler: ChildProcess | undefined;

  after(async () => {
    // SIGTERM lets the profiler stop the servers it started (local/processes exit handler).
    if (profiler !== undefined) await stopChild(profiler, "SIGTERM", 10_000);
  });

  /** Runs `npm run profile -- --quick --no-build ...args` and returns its stdout once it exited 0 within a minute. */
  async function profile(...args: string[]): Promise<string> {
    const started = Date.now();
    // The suite builds app-image before mocha; --no-build keeps the run short.
    profiler = spawn(
      process.execPath,
      [join("node_modules", "tsx", "dist", "cli.mjs"), "bench/profile.ts", "--quick", "--no-build", ...args],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    profiler.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    profiler.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const { code } = await exitOf(profiler);
    profiler = undefined;
    const seconds = (Date.now() - started) / 1000;
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.ok(seconds < 60, `took ${seconds} s`);
    assert.match(stdout, /top 20 functions by self time:/);
    const rows = [...stdout.matchAll(/^ +(\d+) +([\d.]+) +([\d.]+) % +(app|node_modules|node|native) +\S/gm)];
    assert.ok(rows.length > 0 && rows.length <= 20, stdout);
    rows.forEach((row, index) => {
      assert.equal(Number(row[1]), index + 1, row[0]);
      assert.ok(Number(row[2]) > 0, `positive self time: ${row[0]}`);
    });
    return stdout;
  }

  /** The packages of the "top packages by self time" block. */
  const topPackages = (stdout: string) =>
    [
      ...(/^top packages by self time:\n((?: {2}\S.*\n)*)/m.exec(stdout)?.[1] ?? "").matchAll(/^ {2}(\S+)/gm),
    ].map((match) => match[1]);

  it("profiles the API under the get-hit scenario and prints the top functions by self time", async () => {
    const stdout = await profile();
    assert.match(stdout, /^scenario get-hit:.*; profiled: the API$/m);
    assert.ok(topPackages(stdout).includes("fastify"), stdout);
  });

  it("profiles the floor server instead with --server floor: the API's storage code without fastify", async () => {
    const stdout = await profile("--server", "floor", "--scenario", "post");
    assert.match(stdout, /^scenario post:.*; profiled: the floor server/m);
    const packages = topPackages(stdout);
    assert.ok(packages.includes("pg"), `the floor makes the INSERT round trip: ${packages.join(", ")}`);
    assert.ok(
      !packages.includes("fastify") && !packages.includes("pino"),
      `no pipeline: ${packages.join(", ")}`,
    );
  });
});
