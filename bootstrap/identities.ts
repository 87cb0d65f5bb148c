// What the bootstrap binds, as plain data and pure functions (no resources), so the tests can check
// it against the workflows: who may impersonate which service account, and under which names the
// workflows read the results.
import type { StackName } from "../lib/stack-files";

/** GitHub's OIDC issuer, the one the Workload Identity provider trusts. */
export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";

/** GitHub environment of each stack's `up` job (deploy.yml); the job's OIDC subject names it. */
export const DEPLOY_ENVIRONMENTS: Readonly<Record<StackName, string>> = { dev: "dev", prod: "production" };

/** Token claims kept as attributes: the subject for the deploy bindings, the repository for the preview's. */
export const ATTRIBUTE_MAPPING = {
  "google.subject": "assertion.sub",
  "attribute.repository": "assertion.repository",
};

/** `owner/name`, as GitHub spells a repository in the token's `repository` claim. */
export function checkedRepository(repository: string): string {
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) {
    throw new Error(`githubRepository: expected owner/name, got "${repository}"`);
  }
  return repository;
}

/** The workflow whose jobs deploy (its `up` jobs run in pulumi-up.yml, which it calls). */
export const DEPLOY_WORKFLOW = ".github/workflows/deploy.yml";

/**
 * Two pools, because an IAM binding to `principal://…/workloadIdentityPools/<pool>/subject/<sub>`
 * matches a token of that subject from any provider of the pool: the deploy pool's provider accepts
 * only deploy.yml on main, so no other workflow (a pull request's, say) can reach a deploy identity
 * even by declaring the same environment; the preview pool accepts every workflow of the repository.
 */
export const FEDERATION = {
  preview: {
    poolId: "github-preview",
    condition: (repository: string) => `assertion.repository == '${repository}'`,
  },
  deploy: {
    poolId: "github-deploy",
    condition: (repository: string) =>
      `assertion.repository == '${repository}' && ` +
      `assertion.workflow_ref == '${repository}/${DEPLOY_WORKFLOW}@refs/heads/main'`,
  },
} as const;

/** Every pool's one provider, for GitHub's OIDC tokens. */
export const PROVIDER_ID = "github-actions";

/** `projects/<number>/locations/global/workloadIdentityPools/<pool>`: the pool's resource name. */
export const poolName = (projectNumber: string, poolId: string) =>
  `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`;

/** Any workflow run of the repository (pull-request previews, the deploy's preview, drift). */
export const repositoryMembers = (pool: string, repository: string) =>
  `principalSet://iam.googleapis.com/${pool}/attribute.repository/${repository}`;

/**
 * Only jobs that run in the GitHub environment: their default OIDC subject is
 * `repo:<owner/name>:environment:<name>`, so `production`'s required reviewers gate prod's identity.
 */
export const environmentMember = (pool: string, repository: string, environment: string) =>
  `principal://iam.googleapis.com/${pool}/subject/repo:${repository}:environment:${environment}`;
