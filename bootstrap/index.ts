// The one-time bootstrap of CI, run by a person with their own credentials (README: "Bootstrap"):
// Pulumi state bucket, the KMS key for the stacks' secrets, Workload Identity Federation bound to the
// GitHub repository, and the service accounts CI impersonates: one read-only preview identity and one
// deploy identity per stack, each with the roles that lib/resource-types.ts derives from the types the
// program registers. The stack outputs are exactly the repository variables the workflows read.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import { deployRoles, previewRoles, requiredApis } from "../lib/resource-types";
import { SET_PROJECT_COMMAND } from "../config";
import { PLACEHOLDER_PROJECT, STACKS, type StackName, rawStackConfig } from "../lib/stack-files";
import {
  ATTRIBUTE_MAPPING,
  DEPLOY_ENVIRONMENTS,
  FEDERATION,
  GITHUB_OIDC_ISSUER,
  PROVIDER_ID,
  checkedRepository,
  environmentMember,
  poolName,
  repositoryMembers,
} from "./identities";

const repository = checkedRepository(new pulumi.Config().require("githubRepository"));
const gcpConfig = new pulumi.Config("gcp");
const project = gcpConfig.require("project");
const region = gcpConfig.require("region");

/**
 * The project of each stack: its stack file's gcp:project, or, while the stack file names none yet,
 * `stackProjects.<stack>` of this bootstrap's config. The offline tools' placeholder never counts.
 */
const projectsFromConfig =
  new pulumi.Config().getObject<Partial<Record<StackName, string>>>("stackProjects") ?? {};
function projectOfStack(stack: StackName): string {
  const fromFile = rawStackConfig(stack)["gcp:project"];
  const project = fromFile === PLACEHOLDER_PROJECT ? projectsFromConfig[stack] : fromFile;
  if (project === undefined || project === "") {
    throw new Error(
      `Pulumi.${stack}.yaml: gcp:project is not set: run \`${SET_PROJECT_COMMAND} --stack ${stack}\` first`,
    );
  }
  return project;
}
const stackProjects = Object.fromEntries(STACKS.map((stack) => [stack, projectOfStack(stack)])) as Record<
  StackName,
  string
>;

// APIs of this project's own resources: federation (iam, sts, iamcredentials), the key, the bucket
// and project IAM; disableOnDestroy off, as other things in the project may use them.
const BOOTSTRAP_APIS = [
  "cloudkms.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  "iam.googleapis.com",
  "iamcredentials.googleapis.com",
  "serviceusage.googleapis.com",
  "storage.googleapis.com",
  "sts.googleapis.com",
];
const apis = BOOTSTRAP_APIS.map(
  (service) => new gcp.projects.Service(`api-${service}`, { project, service, disableOnDestroy: false }),
);
// Each stack's project gets its APIs before the first `up`: a resource created while its API is
// still being enabled fails with 403, and project IAM grants need cloudresourcemanager.
for (const [stack, stackProject] of Object.entries(stackProjects)) {
  for (const service of requiredApis()) {
    new gcp.projects.Service(`${stack}-api-${service}`, {
      project: stackProject,
      service,
      disableOnDestroy: false,
    });
  }
}
const afterApis = { dependsOn: apis };

const stateBucket = new gcp.storage.Bucket(
  "pulumi-state",
  {
    project,
    name: `${project}-pulumi-state`,
    location: region,
    // Every state write keeps the previous object: a broken update can be rolled back by hand.
    versioning: { enabled: true },
    uniformBucketLevelAccess: true,
    publicAccessPrevention: "enforced",
  },
  { ...afterApis, protect: true },
);

const keyRing = new gcp.kms.KeyRing("pulumi", { project, name: "pulumi", location: region }, afterApis);
const secretsKey = new gcp.kms.CryptoKey(
  "stack-secrets",
  { name: "stack-secrets", keyRing: keyRing.id, purpose: "ENCRYPT_DECRYPT", rotationPeriod: "7776000s" },
  { protect: true },
);

const projectNumber = gcp.organizations.getProjectOutput({ projectId: project }).number;

/** A pool with one provider for GitHub's tokens that meet `condition`; returns the pool's resource name. */
function federation(poolId: string, condition: string) {
  const pool = new gcp.iam.WorkloadIdentityPool(
    poolId,
    { project, workloadIdentityPoolId: poolId, displayName: poolId },
    afterApis,
  );
  const provider = new gcp.iam.WorkloadIdentityPoolProvider(`${poolId}-${PROVIDER_ID}`, {
    project,
    workloadIdentityPoolId: pool.workloadIdentityPoolId,
    workloadIdentityPoolProviderId: PROVIDER_ID,
    displayName: "GitHub Actions",
    attributeMapping: ATTRIBUTE_MAPPING,
    attributeCondition: condition,
    oidc: { issuerUri: GITHUB_OIDC_ISSUER },
  });
  // Built from the project number, not read from the pool's `name`, so the bindings below hold the
  // full principal in a preview too.
  const path = pulumi
    .all([projectNumber, pool.workloadIdentityPoolId])
    .apply(([number, id]) => poolName(number, id));
  return { path, provider: pulumi.interpolate`${path}/providers/${provider.workloadIdentityPoolProviderId}` };
}

const previewFederation = federation(FEDERATION.preview.poolId, FEDERATION.preview.condition(repository));
const deployFederation = federation(FEDERATION.deploy.poolId, FEDERATION.deploy.condition(repository));

/**
 * A service account that `members` may impersonate through the pool, holding `roles` in `projects`,
 * with `stateRole` on the state bucket and `keyRole` on the secrets key.
 */
function identity(
  accountId: string,
  description: string,
  members: pulumi.Input<string>,
  grants: { roles: string[]; projects: string[]; stateRole: string; keyRole: string },
): gcp.serviceaccount.Account {
  const account = new gcp.serviceaccount.Account(accountId, { project, accountId, description }, afterApis);
  const member = account.member;
  new gcp.serviceaccount.IAMMember(`${accountId}-federation`, {
    serviceAccountId: account.name,
    role: "roles/iam.workloadIdentityUser",
    member: members,
  });
  for (const target of grants.projects) {
    for (const role of grants.roles) {
      new gcp.projects.IAMMember(`${accountId}-${target}-${role.replace(/^roles\//, "")}`, {
        project: target,
        role,
        member,
      });
    }
  }
  new gcp.storage.BucketIAMMember(`${accountId}-state`, {
    bucket: stateBucket.name,
    role: grants.stateRole,
    member,
  });
  new gcp.kms.CryptoKeyIAMMember(`${accountId}-secrets`, {
    cryptoKeyId: secretsKey.id,
    role: grants.keyRole,
    member,
  });
  return account;
}

const preview = identity(
  "pulumi-preview",
  "CI previews and drift checks of every stack (read-only roles)",
  previewFederation.path.apply((pool) => repositoryMembers(pool, repository)),
  {
    roles: previewRoles(),
    projects: Object.values(stackProjects),
    // A preview (a refresh-preview too) only reads the state: the DIY backend takes the stack's lock
    // and writes the state for updates only (pulumi/pulumi pkg/backend/diy/backend.go, Preview vs Update).
    stateRole: "roles/storage.objectViewer",
    keyRole: "roles/cloudkms.cryptoKeyDecrypter",
  },
);
const deploy = Object.fromEntries(
  STACKS.map((stack) => [
    stack,
    identity(
      `pulumi-deploy-${stack}`,
      `CI deploys of the ${stack} stack, only from the GitHub environment ${DEPLOY_ENVIRONMENTS[stack]}`,
      deployFederation.path.apply((pool) => environmentMember(pool, repository, DEPLOY_ENVIRONMENTS[stack])),
      {
        roles: deployRoles(),
        projects: [stackProjects[stack]],
        stateRole: "roles/storage.objectUser",
        keyRole: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
      },
    ),
  ]),
) as Record<StackName, gcp.serviceaccount.Account>;

// The GitHub repository variables (Settings > Secrets and variables > Actions > Variables), named as
// the workflows read them; tests/bootstrap checks the two lists are equal.
export const GCP_WORKLOAD_IDENTITY_PROVIDER = previewFederation.provider;
export const GCP_DEPLOY_WORKLOAD_IDENTITY_PROVIDER = deployFederation.provider;
export const GCP_PREVIEW_SERVICE_ACCOUNT = preview.email;
export const GCP_DEPLOY_SERVICE_ACCOUNT_DEV = deploy.dev.email;
export const GCP_DEPLOY_SERVICE_ACCOUNT_PROD = deploy.prod.email;
export const PULUMI_BACKEND_URL = pulumi.interpolate`gs://${stateBucket.name}`;
