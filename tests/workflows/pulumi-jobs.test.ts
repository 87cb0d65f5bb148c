// What every job that runs Pulumi on a stack needs on a GitHub runner, which mocks never show:
// federated Google credentials, gke-gcloud-auth-plugin (the GKE kubeconfig's exec plugin; the
// runners do not ship it and disable `gcloud components install`) and the one pinned Pulumi CLI.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { Node, REPO_ROOT, actionOf, allJobs, node, runsPulumiOnAStack, steps } from "./workflows";

const PULUMI_VERSION_FILE = ".pulumi-version";

const pulumiJobs = allJobs().filter(({ job }) => steps(job).some(runsPulumiOnAStack));

/** Index of the first step matching, or -1. */
const indexOf = (job: Node, matches: (step: Node) => boolean) => steps(job).findIndex(matches);

function installsGkeAuthPlugin(step: Node): boolean {
  const components = node(step.with).install_components;
  return (
    actionOf(step) === "google-github-actions/setup-gcloud" &&
    typeof components === "string" &&
    components
      .split(",")
      .map((component) => component.trim())
      .includes("gke-gcloud-auth-plugin")
  );
}

describe("workflows: jobs that run Pulumi on a stack", () => {
  it("exist (the preview, deploy and drift jobs)", () => {
    assert.ok(pulumiJobs.length >= 3, pulumiJobs.map(({ file, id }) => `${file}:${id}`).join(", "));
  });

  for (const { file, id, job } of pulumiJobs) {
    describe(`${file} job ${id}`, () => {
      const firstPulumi = indexOf(job, runsPulumiOnAStack);

      it("authenticates to Google with Workload Identity Federation before Pulumi runs", () => {
        const auth = indexOf(job, (step) => actionOf(step) === "google-github-actions/auth");
        assert.ok(auth >= 0 && auth < firstPulumi, "google-github-actions/auth comes before Pulumi");
        const inputs = node(steps(job)[auth]?.with);
        assert.match(String(inputs.workload_identity_provider), /\$\{\{ *vars\.\w+ *\}\}/);
        assert.equal(inputs.credentials_json, undefined, "no long-lived key");
      });

      it("installs gke-gcloud-auth-plugin after auth, so gcloud uses the federated credentials", () => {
        const plugin = indexOf(job, installsGkeAuthPlugin);
        const auth = indexOf(job, (step) => actionOf(step) === "google-github-actions/auth");
        assert.ok(plugin >= 0, "a setup-gcloud step with install_components: gke-gcloud-auth-plugin");
        assert.ok(auth < plugin && plugin < firstPulumi, "order: auth, setup-gcloud, Pulumi");
        assert.notEqual(node(steps(job)[plugin]?.with).skip_install, true, "the runner's gcloud is locked");
      });

      it(`installs the Pulumi CLI version that ${PULUMI_VERSION_FILE} names`, () => {
        for (const step of steps(job).filter((candidate) => actionOf(candidate) === "pulumi/actions")) {
          const inputs = node(step.with);
          assert.equal(inputs["pulumi-version-file"], PULUMI_VERSION_FILE);
          assert.equal(inputs["pulumi-version"], undefined);
        }
      });
    });
  }

  it(`${PULUMI_VERSION_FILE} holds one exact CLI version, the installed SDK's`, () => {
    const cli = readFileSync(path.join(REPO_ROOT, PULUMI_VERSION_FILE), "utf8").trim();
    assert.match(cli, /^\d+\.\d+\.\d+$/);
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    // The CLI and @pulumi/pulumi are released together under one version number.
    assert.equal(cli, lock.packages["node_modules/@pulumi/pulumi"]?.version);
  });
});
