// README.md's benchmark summary is generated from bench/results.json (bench/readme-summary.ts).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DEFAULT_RESULTS_PATH, readBenchResults } from "../../bench/capacity-doc";
import { README_PATH, withSummary } from "../../bench/readme-summary";
import { formatSummary } from "../../bench/report";
import { SCENARIOS, STARTUP_TARGET_MS } from "../../bench/scenarios";

describe("README.md's bench summary", () => {
  const results = readBenchResults(DEFAULT_RESULTS_PATH);

  it("is what bench/results.json renders (npm run bench -- --readme)", () => {
    const readme = readFileSync(README_PATH, "utf8");
    assert.ok(
      readme === withSummary(readme, results),
      "README.md's bench summary is stale: run npm run bench -- --readme and commit it",
    );
  });

  it("names every scenario with its CPU target and judges it against the measured ratio", () => {
    const summary = formatSummary(results);
    for (const scenario of results.scenarios) {
      const target = SCENARIOS.find(({ name }) => name === scenario.name)?.cpuTargetToBare;
      const row = summary.split("\n").find((line) => line.startsWith(`| ${scenario.name} `));
      assert.ok(row !== undefined, `no row for ${scenario.name}`);
      if (target === undefined || scenario.cpuToBare === undefined || scenario.cpuToBare === null) continue;
      const floorMisses = (scenario.floor?.cpuToBare ?? 0) > target;
      const expected =
        scenario.cpuToBare <= target ? "met" : floorMisses ? "NOT met; the floor alone misses it" : "NOT met";
      assert.match(row, new RegExp(`\\| ${expected} +\\|$`));
    }
    const met = results.startup.medianReadyMs <= STARTUP_TARGET_MS ? "met" : "NOT met";
    assert.match(summary, new RegExp(`target <= ${STARTUP_TARGET_MS} ms: ${met};`));
  });

  it("says of a missed CPU target whether the floor server alone already misses it", () => {
    const [first] = results.scenarios;
    const target = 3;
    const verdictOf = (cpuToBare: number, floorToBare: number) => {
      const scenario = {
        ...first,
        name: "post",
        cpuToBare,
        floor: { cpuMicrosPerRequest: 1, rps: 1, cpuToBare: floorToBare },
      };
      const summary = formatSummary({ ...results, scenarios: [scenario] });
      return summary
        .split("\n")
        .find((line) => line.startsWith("| post "))
        ?.replace(/ +\|$/, "")
        .split("| ")
        .at(-1);
    };
    assert.equal(SCENARIOS.find(({ name }) => name === "post")?.cpuTargetToBare, target);
    assert.equal(verdictOf(2.9, 2.5), "met");
    assert.equal(verdictOf(4, 2.5), "NOT met");
    assert.equal(verdictOf(4, 3.2), "NOT met; the floor alone misses it");
  });

  it("refuses a README without the markers", () => {
    assert.throws(() => withSummary("# no summary here\n", results), /lacks the markers/);
  });
});
