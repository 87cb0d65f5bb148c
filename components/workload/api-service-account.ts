import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { SecretEnvVar } from "./api-environment";
import type { SecretRef } from "../data/stored-secret";

/** Project roles of the API's identity on either platform: write its logs, metrics and traces. */
export const API_PROJECT_ROLES = [
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/cloudtrace.agent",
] as const;

export interface ApiServiceAccount {
  readonly account: gcp.serviceaccount.Account;
  /** Every grant; a workload that starts before they exist fails to read its secrets. */
  readonly grants: readonly pulumi.Resource[];
}

/**
 * The API's dedicated Google service account (never the default compute account), with the
 * project roles above and `secretAccessor` on exactly the secrets the container reads, one
 * binding per secret rather than project-wide.
 */
export function createApiServiceAccount(
  name: string,
  args: {
    readonly project: string;
    readonly secretEnv: readonly SecretEnvVar<SecretRef>[];
    /** Enabled APIs the account waits for (iam). */
    readonly apis: readonly pulumi.Resource[];
  },
  parent: pulumi.Resource,
): ApiServiceAccount {
  const account = new gcp.serviceaccount.Account(
    `${name}-sa`,
    { project: args.project, displayName: `API workload ${name}` },
    { parent, dependsOn: [...args.apis] },
  );
  const projectGrants = API_PROJECT_ROLES.map(
    (role) =>
      new gcp.projects.IAMMember(
        `${name}-sa-${role.split("/")[1].replace(/\./g, "-")}`,
        { project: args.project, role, member: account.member },
        { parent },
      ),
  );
  const secretGrants = args.secretEnv.map(
    ({ name: envName, secret }) =>
      new gcp.secretmanager.SecretIamMember(
        `${name}-sa-reads-${envName.toLowerCase().replace(/_/g, "-")}`,
        {
          project: args.project,
          secretId: secret.secretId,
          role: "roles/secretmanager.secretAccessor",
          member: account.member,
        },
        { parent },
      ),
  );
  return { account, grants: [...projectGrants, ...secretGrants] };
}
