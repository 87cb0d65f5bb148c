import assert from "node:assert/strict";

import { PlanError, runPlan } from "../../plan/run";
import { PLAN_NOTICE, type PlanDocument } from "../../plan/types";
import { FIXTURE_ROOT, PLAN_TEST_TIMEOUT_MS, planOf, runCli, schemaErrors } from "./helpers";

describe("plan CLI", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);

  it("prints usage with --help", async () => {
    const result = await runCli(["--help"]);

    assert.equal(result.code, 0);
    assert.match(result.stdout, /^usage: npm run plan -- --stack <name>/);
  });

  it("--json prints exactly the plan runPlan returns, and progress only on stderr", async () => {
    const result = await runCli(["--stack", "dev", "--json"]);

    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as PlanDocument;
    assert.deepEqual(printed, await planOf("dev"));
    assert.deepEqual(schemaErrors("plan", printed), []);
    assert.match(result.stderr, /planning dev/);
  });

  it("prints the resource tree grouped by component and a count by type", async () => {
    const result = await runCli(["--stack", "ok"], FIXTURE_ROOT);

    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    assert.ok(
      lines.includes(" +  pulumi:pulumi:Stack                               plan-fixture-ok"),
      result.stdout,
    );
    assert.ok(lines.some((line) => /^ \+ {2}├─ plan-fixture:index:Database +db$/.test(line)));
    assert.ok(
      lines.some((line) =>
        /^ \+ {2}│ {2}├─ gcp:sql\/databaseInstance:DatabaseInstance +db-primary$/.test(line),
      ),
    );
    assert.ok(lines.includes("    databasePassword: [secret]"));
    // It says what it is: it compares inputs, and the real preview decides.
    const notice = lines
      .slice(2, lines.indexOf("", 2))
      .map((line) => line.trim())
      .join(" ");
    assert.equal(notice, PLAN_NOTICE.text);
    assert.match(
      notice,
      /compares the inputs.*cannot tell an update in place from a replacement.*`pulumi preview`.*authority/s,
    );
    assert.ok(lines.includes("     2  gcp:sql/databaseInstance:DatabaseInstance"));
    assert.ok(lines.includes("     9  to create"));
  });

  const badArguments: [string, string[], RegExp][] = [
    ["an unknown flag", ["--stack", "dev", "--bogus"], /--bogus/],
    ["a missing --stack", ["--json"], /--stack is required/],
    ["an unknown stack", ["--stack", "staging"], /Pulumi\.staging\.yaml/],
    [
      "a --config without =",
      ["--stack", "dev", "--config", "platform"],
      /--config platform: expected key=value/,
    ],
    [
      "a value breaking a config rule",
      ["--stack", "dev", "--config", "platform=nomad"],
      /items-api:platform: must be one of gke, cloudrun/,
    ],
    [
      "a value of the wrong declared type",
      ["--stack", "dev", "--config", "targetConcurrentRequests=lots"],
      /targetConcurrentRequests: must be of type integer/,
    ],
    [
      "a path into a scalar",
      ["--stack", "dev", "--config", "platform.kind=gke"],
      /items-api:platform is not a mapping/,
    ],
  ];
  for (const [what, args, message] of badArguments) {
    it(`exits 2 naming the problem for ${what}`, async () => {
      const result = await runCli(args);

      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }

  it("exits 1 with the program's message when the program throws", async () => {
    const result = await runCli(["--stack", "ok", "--config", "mode=throw"], FIXTURE_ROOT);

    assert.equal(result.code, 1);
    assert.match(result.stderr, /error: fixture program failed on purpose/);
  });
});

describe("runPlan failures", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);

  async function failure(overrides: Record<string, string>, timeoutMs?: number): Promise<PlanError> {
    const error = await runPlan({ stack: "ok", overrides, root: FIXTURE_ROOT, timeoutMs }).then(
      () => assert.fail("the plan should fail"),
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof PlanError, String(error));
    return error;
  }

  it("a StackConfigError is exit code 2 with its key and rule", async () => {
    const error = await failure({ tier: "f1-micro" });

    assert.equal(error.exitCode, 2);
    assert.equal(error.message, 'plan-fixture:tier: must start with "db-"');
  });

  const programFailures: [string, string, RegExp][] = [
    [
      "an invoke the mocks cannot answer",
      "unanswered-invoke",
      /no mock answer for invoke gcp:compute\/getNetwork:getNetwork/,
    ],
    [
      "a duplicate URN",
      "duplicate-urn",
      /duplicate URN urn:pulumi:ok::plan-fixture::gcp:compute\/network:Network::network/,
    ],
    ["an unhandled rejection", "unhandled-rejection", /fixture rejection nobody awaits/],
    [
      "a registration whose inputs never resolve",
      "never-settles",
      /pending registrations: stuck \[gcp:compute\/network:Network\]/,
    ],
  ];
  for (const [what, mode, message] of programFailures) {
    it(`${what} is exit code 1 naming the cause`, async () => {
      const error = await failure({ mode });

      assert.equal(error.exitCode, 1);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /\n/);
    });
  }

  it("a registration that never completes times out naming the resource", async () => {
    const error = await failure({ mode: "hangs" }, 3_000);

    assert.equal(error.exitCode, 1);
    assert.match(
      error.message,
      /did not finish within 3000 ms; pending registrations: stuck \[gcp:compute\/network:Network\]/,
    );
  });
});
