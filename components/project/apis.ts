import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { GoogleApi } from "../../lib/resource-types";

export interface ProjectApisArgs {
  /** The APIs to enable: lib/resource-types.ts `requiredApis()` for this program. */
  readonly apis: readonly GoogleApi[];
}

/**
 * The project's Google APIs, enabled before anything else: index.ts gives every other component
 * `dependsOn: apis.services`, so no resource of a fresh project is created while its API is still
 * off (which fails with 403 "API has not been used in project … or it is disabled").
 */
export class ProjectApis extends pulumi.ComponentResource {
  /** One projects.Service per API, in the order given. */
  public readonly services: readonly gcp.projects.Service[];
  private readonly byApi: ReadonlyMap<GoogleApi, gcp.projects.Service>;

  constructor(name: string, args: ProjectApisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:ProjectApis", name, {}, opts);
    const entries = args.apis.map(
      (api) =>
        [
          api,
          // Left on at destroy: other stacks in the project may use them, and disabling an API can
          // take dependent services down.
          new gcp.projects.Service(
            `${name}-${api.replace(/\.googleapis\.com$/, "")}`,
            { service: api, disableOnDestroy: false },
            { parent: this },
          ),
        ] as const,
    );
    this.byApi = new Map(entries);
    this.services = entries.map(([, service]) => service);
    this.registerOutputs({});
  }

  /** The Service enabling `api`; throws when this component was not asked to enable it. */
  service(api: GoogleApi): gcp.projects.Service {
    const service = this.byApi.get(api);
    if (!service) throw new Error(`ProjectApis does not enable ${api}; add it to lib/resource-types.ts`);
    return service;
  }
}
