import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { EdgeBackendArgs } from "./backend-args";

export interface CloudRunEdgeBackendArgs extends EdgeBackendArgs {
  /** GCP project id (required). */
  readonly project: string;
  /** Region of the Cloud Run service (required). */
  readonly region: string;
  /** Name of the Cloud Run service (required). */
  readonly serviceName: pulumi.Input<string>;
}

/**
 * The edge's backend service for the API on Cloud Run: a serverless NEG pointing at the service. No
 * health check or firewall rule: Cloud Run reports its own readiness and is reached over Google's
 * network, and the service's ingress setting admits only Cloud Load Balancing.
 */
export class CloudRunEdgeBackend extends pulumi.ComponentResource {
  /** Id of the backend service, for the edge's URL map. */
  public readonly backendService: pulumi.Output<string>;

  constructor(name: string, args: CloudRunEdgeBackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:CloudRunEdgeBackend", name, {}, opts);
    const childOpts = { parent: this, dependsOn: [...(args.apis ?? [])] };

    const neg = new gcp.compute.RegionNetworkEndpointGroup(
      `${name}-neg`,
      {
        project: args.project,
        region: args.region,
        networkEndpointType: "SERVERLESS",
        cloudRun: { service: args.serviceName },
      },
      childOpts,
    );
    // Serverless NEGs take no balancing mode, timeout or connection draining: Cloud Run owns those.
    const backendService = new gcp.compute.BackendService(
      name,
      {
        project: args.project,
        loadBalancingScheme: "EXTERNAL_MANAGED",
        protocol: "HTTPS",
        securityPolicy: args.securityPolicy,
        logConfig: { enable: true, sampleRate: args.logSampleRate },
        backends: [{ group: neg.id }],
      },
      childOpts,
    );

    this.backendService = backendService.id;
    this.registerOutputs({ backendService: this.backendService });
  }
}
