import type * as pulumi from "@pulumi/pulumi";

/** What every backend of the edge takes, whichever platform serves it. */
export interface EdgeBackendArgs {
  /** Cloud Armor policy of the edge (required). */
  readonly securityPolicy: pulumi.Input<string>;
  /** Share of requests logged by the load balancer, 0 to 1 (required). */
  readonly logSampleRate: number;
  /** Enabled APIs the resources wait for (compute); default none. */
  readonly apis?: readonly pulumi.Resource[];
}
