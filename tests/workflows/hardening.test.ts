// Security properties of the workflows that actionlint does not check: least-privilege tokens,
// no credentials for fork code, actions pinned to commits, a comment poster that never runs PR
// code, and calls of the local reusable workflows that match what those declare.
import { strict as assert } from "node:assert";
import * as path from "node:path";

import { node, steps, workflow, workflows, writeScopes } from "./workflows";

const isForkSafeCondition = (condition: unknown): boolean =>
  typeof condition === "string" &&
  condition.includes("github.event.pull_request.head.repo.full_name == github.repository");

/** `uses:` of an action pinned to a full commit SHA, with the release it is in a comment. */
const PINNED_ACTION = /^([\w.-]+\/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/;

describe("workflows: hardening", () => {
  it("every workflow sets a read-only default token; write scopes are granted per job", () => {
    for (const { file, permissions } of workflows) {
      assert.deepEqual(permissions, { contents: "read" }, `${file} top-level permissions`);
    }
  });

  it("no workflow uses pull_request_target (it runs with a write token next to PR code)", () => {
    for (const { file, on } of workflows) {
      assert.ok(!("pull_request_target" in on), file);
    }
  });

  it("every action is pinned to a full commit SHA, with its version in a comment", () => {
    for (const { file, text } of workflows) {
      for (const [index, line] of text.split("\n").entries()) {
        const uses = /^\s*(?:- )?uses:\s*(.*?)\s*$/.exec(line)?.[1];
        if (uses === undefined || uses.startsWith("./")) continue;
        assert.match(uses, PINNED_ACTION, `${file}:${index + 1}`);
      }
    }
  });

  it("each action is pinned to one commit and version across all workflows", () => {
    const pins = new Map<string, Set<string>>();
    for (const { text } of workflows) {
      for (const match of text.matchAll(/uses:\s*([\w.-]+\/[\w./-]+)@(\S+ # \S+)/g)) {
        const [, action = "", pin = ""] = match;
        pins.set(action, (pins.get(action) ?? new Set()).add(pin));
      }
    }
    assert.ok(pins.size >= 5, [...pins.keys()].join(", "));
    for (const [action, versions] of pins)
      assert.equal(versions.size, 1, `${action}: ${[...versions].join(", ")}`);
  });

  it("the pin check rejects a tag, a short SHA and a SHA without its version", () => {
    for (const uses of [
      "actions/checkout@v7",
      "actions/checkout@3d3c42e",
      "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
    ]) {
      assert.doesNotMatch(uses, PINNED_ACTION, uses);
    }
  });

  it("every Node setup reads the Node version from .nvmrc", () => {
    for (const { file, jobs } of workflows) {
      for (const [id, job] of Object.entries(jobs)) {
        for (const step of steps(job).filter((candidate) =>
          String(candidate.uses).startsWith("actions/setup-node@"),
        )) {
          assert.deepEqual(
            [node(step.with)["node-version-file"], node(step.with)["node-version"]],
            [".nvmrc", undefined],
            `${file} job ${id}`,
          );
        }
      }
    }
  });

  it("jobs that can mint cloud credentials never run a fork's code", () => {
    for (const { file, on, jobs } of workflows) {
      for (const [id, job] of Object.entries(jobs)) {
        if (!writeScopes(job.permissions).includes("id-token")) continue;
        // push (to main, asserted below), the nightly schedule and a manual dispatch run code of
        // this repository's own branches; workflow_call inherits its caller's event.
        const ownCodeOnly = Object.keys(on).every((event) =>
          ["push", "workflow_call", "schedule", "workflow_dispatch"].includes(event),
        );
        assert.ok(
          ownCodeOnly || isForkSafeCondition(job.if),
          `${file} job ${id} has id-token: write but may run for a fork pull request`,
        );
      }
    }
    assert.deepEqual(workflow("deploy.yml").on, { push: { branches: ["main"] } });
    assert.deepEqual(Object.keys(workflow("pulumi-up.yml").on), ["workflow_call"]);
  });

  it("the offline plan runs for every PR, forks included, with a read-only token", () => {
    const { on, jobs } = workflow("preview.yml");
    assert.ok("pull_request" in on);
    assert.deepEqual(jobs["offline-plan"].permissions, { contents: "read" });
    assert.equal(jobs["offline-plan"].if, undefined);
    const uploads = steps(jobs["offline-plan"]).filter((step) =>
      String(step.uses).startsWith("actions/upload-artifact@"),
    );
    assert.equal(uploads.length, 1);
    assert.equal(node(uploads[0].with).name, "offline-plan");
  });

  it("the real preview needs the WIF variable and a branch of this repository", () => {
    const job = workflow("preview.yml").jobs["pulumi-preview"];
    assert.ok(isForkSafeCondition(job.if));
    assert.match(String(job.if), /vars\.GCP_WORKLOAD_IDENTITY_PROVIDER != ''/);
    const pulumi = steps(job).find((step) => String(step.uses).startsWith("pulumi/actions@"));
    assert.ok(pulumi);
    assert.equal(node(pulumi.with).policyPacks, "policy");
  });

  it("the comment poster runs base-branch code only and never executes the artifact", () => {
    const { on, jobs } = workflow("preview-comment.yml");
    assert.deepEqual(node(on.workflow_run).workflows, ["preview"]);
    for (const [id, job] of Object.entries(jobs)) {
      for (const step of steps(job)) {
        assert.ok(!String(step.uses).startsWith("actions/checkout@"), `${id} checks out code`);
        assert.doesNotMatch(
          typeof step.run === "string" ? step.run : "",
          /\b(npm|npx|node|tsx|bash|sh|source)\b|\.\//,
          `${id} runs code`,
        );
      }
      assert.deepEqual(writeScopes(job.permissions), ["pull-requests"], id);
    }
  });

  it("deploys dev, then prod behind the production environment, one update per stack at a time", () => {
    const { jobs } = workflow("deploy.yml");
    assert.deepEqual(jobs.dev.needs, "test");
    assert.deepEqual(jobs.prod.needs, "dev");
    assert.equal(node(jobs.dev.with).stack, "dev");
    assert.equal(node(jobs.prod.with).stack, "prod");
    assert.equal(node(jobs.prod.with).environment, "production");
    const groups = ["dev", "prod"].map((id) => node(jobs[id].concurrency));
    assert.notEqual(groups[0].group, groups[1].group);
    for (const group of groups) assert.equal(group["cancel-in-progress"], false);
    const up = workflow("pulumi-up.yml").jobs.up;
    assert.equal(up.environment, "${{ inputs.environment }}");
    const pulumi = steps(up).find((step) => String(step.uses).startsWith("pulumi/actions@"));
    assert.deepEqual([node(pulumi?.with).command, node(pulumi?.with).policyPacks], ["up", "policy"]);
  });

  it("calls of local reusable workflows pass declared inputs and grant what the callee's jobs request", () => {
    for (const { file, jobs } of workflows) {
      for (const [id, job] of Object.entries(jobs)) {
        if (typeof job.uses !== "string" || !job.uses.startsWith("./")) continue;
        const callee = workflow(path.basename(job.uses));
        const declared = node(node(callee.on.workflow_call).inputs);
        assert.ok("workflow_call" in callee.on, `${file} job ${id}: ${callee.file} is not callable`);
        const passed = Object.keys(node(job.with));
        assert.deepEqual(
          passed.filter((input) => !(input in declared)),
          [],
          `${file} job ${id} passes undeclared inputs`,
        );
        const required = Object.entries(declared)
          .filter(([, spec]) => node(spec).required === true)
          .map(([input]) => input);
        assert.deepEqual(
          required.filter((input) => !passed.includes(input)),
          [],
          `${file} job ${id} misses inputs`,
        );
        const granted = job.permissions ?? workflow(file).permissions;
        for (const calleeJob of Object.values(callee.jobs)) {
          for (const [scope, level] of Object.entries(node(calleeJob.permissions ?? callee.permissions))) {
            const grantedLevel = node(granted)[scope];
            assert.ok(
              grantedLevel === level || grantedLevel === "write",
              `${file} job ${id} grants ${scope}: ${String(grantedLevel)}, ${callee.file} needs ${String(level)}`,
            );
          }
        }
      }
    }
  });
});
