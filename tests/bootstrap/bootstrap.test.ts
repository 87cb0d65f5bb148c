// The bootstrap program (bootstrap/) run under the offline plan's mocks, in its own process: what it
// creates, who may impersonate what, the roles each identity holds, and that its outputs are exactly
// the repository variables the workflows read.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { parse } from "yaml";

import { DEPLOY_ENVIRONMENTS } from "../../bootstrap/identities";
import { deployRoles, previewRoles, requiredApis } from "../../lib/resource-types";
import { PLACEHOLDER_PROJECT, STACKS, rawStackConfig } from "../../lib/stack-files";
import { runPlan } from "../../plan/run";
import type { PlanDocument, PlanResource } from "../../plan/types";
import { REPO_ROOT, node, variablesRead, workflow, workflows } from "../workflows/workflows";

const BOOTSTRAP_DIR = path.join(REPO_ROOT, "bootstrap");
const BOOTSTRAP_STACK = "github";

const bootstrapConfig = node(
  node(parse(readFileSync(path.join(BOOTSTRAP_DIR, `Pulumi.${BOOTSTRAP_STACK}.yaml`), "utf8"))).config,
);
const repository = String(bootstrapConfig["items-api-bootstrap:githubRepository"]);
const hostProject = String(bootstrapConfig["gcp:project"]);
// The stack files name no project (a first `up` must target the user's own), so the bootstrap is
// given one per stack through its config, as a person would before setting them in the stack files.
const STACK_PROJECTS: Record<string, string> = { dev: "acme-items-dev", prod: "acme-items-prod" };
const stackProject = (stack: string) => {
  const fromFile = rawStackConfig(stack)["gcp:project"];
  return fromFile === PLACEHOLDER_PROJECT ? STACK_PROJECTS[stack] : fromFile;
};

describe("bootstrap (under mocks)", function () {
  this.timeout(180_000);
  let plan: PlanDocument;
  const ofType = (type: string) => plan.resources.filter((resource) => resource.type === type);
  const email = (accountId: string) => `${accountId}@${hostProject}.iam.gserviceaccount.com`;
  const inputsOf = (resource: PlanResource) => resource.inputs;

  before(async () => {
    plan = await runPlan({
      stack: BOOTSTRAP_STACK,
      root: BOOTSTRAP_DIR,
      overrides: { stackProjects: JSON.stringify(STACK_PROJECTS) },
    });
  });

  it("stops when a stack's project is set nowhere, naming the command that sets it", async () => {
    await assert.rejects(
      runPlan({ stack: BOOTSTRAP_STACK, root: BOOTSTRAP_DIR }),
      /Pulumi\.dev\.yaml: gcp:project is not set: run `pulumi config set gcp:project <your-project-id> --stack dev`/,
    );
  });

  it("its outputs are exactly the repository variables the workflows read", () => {
    const read = [...new Set(workflows.flatMap(({ text }) => variablesRead(text)))].sort();
    assert.deepEqual(Object.keys(plan.outputs).sort(), read);
    assert.equal(plan.outputs.PULUMI_BACKEND_URL, `gs://${hostProject}-pulumi-state`);
  });

  it("keeps the state in a versioned, private bucket", () => {
    const [bucket, ...others] = ofType("gcp:storage/bucket:Bucket");
    assert.equal(others.length, 0);
    assert.deepEqual(node(bucket?.inputs.versioning), { enabled: true });
    assert.equal(bucket?.inputs.publicAccessPrevention, "enforced");
    assert.equal(bucket?.inputs.uniformBucketLevelAccess, true);
    assert.equal(bucket?.protect, true);
  });

  it("the preview pool trusts this repository's tokens; the deploy pool only deploy.yml on main", () => {
    const conditions = Object.fromEntries(
      ofType("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").map(({ inputs }) => [
        String(inputs.workloadIdentityPoolId),
        [inputs.attributeCondition, node(inputs.oidc).issuerUri],
      ]),
    );
    const issuer = "https://token.actions.githubusercontent.com";
    assert.deepEqual(conditions, {
      "github-preview": [`assertion.repository == '${repository}'`, issuer],
      "github-deploy": [
        `assertion.repository == '${repository}' && ` +
          `assertion.workflow_ref == '${repository}/.github/workflows/deploy.yml@refs/heads/main'`,
        issuer,
      ],
    });
    const providerPath = (pool: string) =>
      new RegExp(`^projects/\\d+/locations/global/workloadIdentityPools/${pool}/providers/github-actions$`);
    assert.match(String(plan.outputs.GCP_WORKLOAD_IDENTITY_PROVIDER), providerPath("github-preview"));
    assert.match(String(plan.outputs.GCP_DEPLOY_WORKLOAD_IDENTITY_PROVIDER), providerPath("github-deploy"));
  });

  it("each deploy identity can be impersonated only from its stack's GitHub environment, via the deploy pool", () => {
    const federation = ofType("gcp:serviceaccount/iAMMember:IAMMember").map(inputsOf);
    const membersOf = (accountId: string) =>
      federation
        .filter((binding) => String(binding.serviceAccountId).endsWith(`/${email(accountId)}`))
        .map((binding) => [binding.role, binding.member]);
    const poolOf = (output: string) => String(plan.outputs[output]).replace(/\/providers\/[^/]+$/, "");
    const deployPool = poolOf("GCP_DEPLOY_WORKLOAD_IDENTITY_PROVIDER");
    for (const stack of STACKS) {
      assert.deepEqual(membersOf(`pulumi-deploy-${stack}`), [
        [
          "roles/iam.workloadIdentityUser",
          `principal://iam.googleapis.com/${deployPool}/subject/repo:${repository}:environment:${DEPLOY_ENVIRONMENTS[stack]}`,
        ],
      ]);
    }
    assert.equal(DEPLOY_ENVIRONMENTS.prod, "production");
    assert.deepEqual(membersOf("pulumi-preview"), [
      [
        "roles/iam.workloadIdentityUser",
        `principalSet://iam.googleapis.com/${poolOf("GCP_WORKLOAD_IDENTITY_PROVIDER")}/attribute.repository/${repository}`,
      ],
    ]);
  });

  it("the environments are the ones deploy.yml runs each stack's apply in", () => {
    const { jobs } = workflow("deploy.yml");
    for (const stack of STACKS) {
      const call = Object.values(jobs).find((job) => node(job.with).stack === stack);
      assert.equal(node(call?.with).environment, DEPLOY_ENVIRONMENTS[stack], stack);
    }
  });

  it("project roles: deploy identities hold deployRoles() in their stack's project, preview holds previewRoles() in each", () => {
    const grants = ofType("gcp:projects/iAMMember:IAMMember").map(inputsOf);
    const rolesOf = (accountId: string, project: string | undefined) =>
      grants
        .filter((grant) => grant.member === `serviceAccount:${email(accountId)}` && grant.project === project)
        .map((grant) => String(grant.role))
        .sort();
    for (const stack of STACKS) {
      assert.deepEqual(rolesOf(`pulumi-deploy-${stack}`, stackProject(stack)), deployRoles(), stack);
      assert.deepEqual(rolesOf("pulumi-preview", stackProject(stack)), previewRoles(), stack);
      for (const other of STACKS.filter((candidate) => candidate !== stack)) {
        assert.deepEqual(rolesOf(`pulumi-deploy-${stack}`, stackProject(other)), [], `${stack} in ${other}`);
      }
    }
    assert.equal(grants.length, STACKS.length * (deployRoles().length + previewRoles().length));
  });

  it("previews only read the state and decrypt the secrets; deploys also write and encrypt", () => {
    const rolesByMember = (type: string) =>
      Object.fromEntries(ofType(type).map(({ inputs }) => [String(inputs.member), String(inputs.role)]));
    const expected = (preview: string, deploy: string) => ({
      [`serviceAccount:${email("pulumi-preview")}`]: preview,
      ...Object.fromEntries(
        STACKS.map((stack) => [`serviceAccount:${email(`pulumi-deploy-${stack}`)}`, deploy]),
      ),
    });
    assert.deepEqual(
      rolesByMember("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"),
      expected("roles/cloudkms.cryptoKeyDecrypter", "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
    );
    assert.deepEqual(
      rolesByMember("gcp:storage/bucketIAMMember:BucketIAMMember"),
      expected("roles/storage.objectViewer", "roles/storage.objectUser"),
    );
  });

  it("enables requiredApis() in each stack's project before the first deploy", () => {
    const services = ofType("gcp:projects/service:Service").map(inputsOf);
    for (const stack of STACKS) {
      const enabled = services
        .filter((service) => service.project === stackProject(stack))
        .map((service) => String(service.service))
        .sort();
      assert.deepEqual(enabled, requiredApis(), stack);
    }
    for (const service of services) assert.equal(service.disableOnDestroy, false, String(service.service));
  });
});
