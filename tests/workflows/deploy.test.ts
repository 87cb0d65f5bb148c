// The delivery flow: tests once per push, a reviewed preview of the exact commit before each apply,
// the shipped image tested with Docker on every PR, and a nightly drift check per stack.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { Node, REPO_ROOT, actionOf, node, steps, stepsUsing, workflow, workflows } from "./workflows";

const runText = (job: Node) => steps(job).map((step) => (typeof step.run === "string" ? step.run : ""));

describe("workflows: delivery", () => {
  it("a push to main runs ci.yml once: deploy.yml calls it, ci.yml has no push trigger", () => {
    const onPush = workflows.filter(({ on }) => "push" in on);
    assert.deepEqual(
      onPush.map(({ file }) => file),
      ["deploy.yml"],
    );
    const callsOfCi = Object.values(workflow("deploy.yml").jobs).filter(
      (job) => job.uses === "./.github/workflows/ci.yml",
    );
    assert.equal(callsOfCi.length, 1);
    assert.deepEqual(Object.keys(workflow("ci.yml").on).sort(), ["pull_request", "workflow_call"]);
  });

  describe("pulumi-up.yml: the approver reads the preview of the commit that is applied", () => {
    const { jobs } = workflow("pulumi-up.yml");
    const { preview, up } = jobs;

    it("previews with the diff in the job summary, in a job that no environment gates", () => {
      assert.equal(preview.environment, undefined);
      const [pulumi] = stepsUsing(preview, "pulumi/actions");
      const inputs = node(pulumi?.with);
      assert.deepEqual(
        [inputs.command, inputs.diff, inputs["comment-on-summary"], inputs.policyPacks],
        ["preview", true, true, "policy"],
      );
      assert.equal(inputs["stack-name"], "${{ inputs.stack }}");
    });

    it("previews as the read-only preview identity, applies as the stack's deploy identity", () => {
      const auth = (job: Node) => {
        const inputs = node(stepsUsing(job, "google-github-actions/auth")[0]?.with);
        return [inputs.workload_identity_provider, inputs.service_account];
      };
      assert.deepEqual(auth(preview), [
        "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}",
        "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}",
      ]);
      assert.deepEqual(auth(up), [
        "${{ vars.GCP_DEPLOY_WORKLOAD_IDENTITY_PROVIDER }}",
        "${{ inputs.service-account }}",
      ]);
    });

    it("applies only after the preview, inside the environment", () => {
      assert.equal(up.needs, "preview");
      assert.equal(up.environment, "${{ inputs.environment }}");
      assert.equal(node(stepsUsing(up, "pulumi/actions")[0]?.with).command, "up");
    });

    it("the apply refuses another commit than the previewed one, before any credential exists", () => {
      assert.equal(node(preview.outputs).commit, "${{ steps.commit.outputs.sha }}");
      const commitStep = steps(preview).find((step) => step.id === "commit");
      assert.match(String(commitStep?.run), /git rev-parse HEAD/);
      const guard = steps(up).findIndex(
        (step) =>
          node(step.env).PREVIEWED === "${{ needs.preview.outputs.commit }}" &&
          /git rev-parse HEAD/.test(String(step.run)) &&
          /exit 1/.test(String(step.run)),
      );
      const auth = steps(up).findIndex((step) => actionOf(step) === "google-github-actions/auth");
      assert.ok(guard >= 0 && guard < auth, "the commit guard comes before google-github-actions/auth");
    });
  });

  describe("ci.yml: the shipped image is tested with Docker", () => {
    const { image } = workflow("ci.yml").jobs;

    it("builds app-image/Dockerfile and runs the API tests against that image", () => {
      const build = runText(image).find((run) => /\bdocker build\b/.test(run)) ?? "";
      const tag = /--tag (\S+) app-image\s*$/.exec(build)?.[1];
      assert.ok(tag, `docker build --tag <tag> app-image, found: ${build}`);
      const tests = steps(image).find((step) => /mocha 'tests\/api\//.test(String(step.run)));
      assert.equal(node(tests?.env).API_IMAGE, tag);
    });

    it("local/api.ts starts that image on the host network when API_IMAGE is set", () => {
      const launcher = readFileSync(path.join(REPO_ROOT, "local", "api.ts"), "utf8");
      assert.match(launcher, /process\.env\.API_IMAGE/);
      assert.match(launcher, /"run", "--rm", "--network=host"/);
    });
  });

  describe("drift.yml: a nightly refresh-preview per stack", () => {
    const { on, jobs } = workflow("drift.yml");

    it("runs on a schedule for dev and prod and fails on any change", () => {
      assert.ok(Array.isArray(on.schedule) && on.schedule.length === 1);
      assert.deepEqual(node(node(jobs.detect.strategy).matrix).stack, ["dev", "prod"]);
      const preview = runText(jobs.detect).find((run) => /pulumi preview/.test(run)) ?? "";
      for (const flag of ["--refresh", "--expect-no-changes", "--diff", '--stack "$STACK"']) {
        assert.ok(preview.includes(flag), flag);
      }
      assert.equal(
        node(stepsUsing(jobs.detect, "google-github-actions/auth")[0]?.with).service_account,
        "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}",
      );
    });

    it("the job with cloud credentials cannot write issues; the issue writer has no credentials", () => {
      assert.deepEqual(jobs.detect.permissions, { contents: "read", "id-token": "write" });
      assert.deepEqual(jobs.issues.permissions, { issues: "write" });
      assert.equal(jobs.issues.needs, "detect");
      assert.match(String(jobs.issues.if), /always\(\)/);
      assert.ok(!steps(jobs.issues).some((step) => actionOf(step) === "actions/checkout"));
    });

    it("keeps one issue per stack: updates the open one, creates one otherwise, closes it when clean", () => {
      const script = runText(jobs.issues).join("\n");
      assert.match(script, /title="Drift in stack \$\{stack\}"/);
      for (const command of ["gh issue edit", "gh issue create", "gh issue close"]) {
        assert.ok(script.includes(command), command);
      }
    });
  });
});
