import * as gcp from "@pulumi/gcp";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { EdgeBackendArgs } from "./backend-args";

/**
 * Where Google's health checks and the global external Application Load Balancer's proxies connect
 * from when the backends are zonal NEGs (GCE_VM_IP_PORT): the load-balancing firewall-rules page.
 */
export const GOOGLE_LOAD_BALANCER_RANGES = ["35.191.0.0/16", "130.211.0.0/22"] as const;

export interface GkeEdgeBackendArgs extends EdgeBackendArgs {
  /** GCP project id (required). */
  readonly project: string;
  /** VPC network of the cluster, for the firewall rule (required). */
  readonly network: pulumi.Input<string>;
  /** Service account of the cluster's nodes: the firewall rule opens the container port on them only (required). */
  readonly nodeServiceAccount: pulumi.Input<string>;
  /** Name and location of the cluster, to find the zones its nodes (and so its NEGs) are in (required). */
  readonly cluster: { readonly name: pulumi.Input<string>; readonly location: pulumi.Input<string> };
  /** The Service whose annotation makes the NEG controller create the NEGs; the lookup waits for it (required). */
  readonly service: k8s.core.v1.Service;
  /** Name the Service's annotation gives the zonal NEGs (required). */
  readonly negName: string;
  /** Port the pods serve on: the NEG endpoints' port, health-checked and opened in the firewall (required). */
  readonly containerPort: number;
  /** Readiness path the load balancer health-checks (required). */
  readonly healthPath: string;
  /** How long a removed endpoint keeps its requests; the pod's shutdown timing covers it (required). */
  readonly connectionDrainingSeconds: number;
  /** Requests per second per pod the balancer aims at before spilling to other zones (required). */
  readonly maxRatePerEndpoint: number;
}

/**
 * The edge's backend service for the API on GKE: the standalone zonal NEGs the NEG controller creates
 * from the Service's `cloud.google.com/neg` annotation, a health check on the readiness path, and the
 * firewall rule that lets the load balancer reach the pods.
 */
export class GkeEdgeBackend extends pulumi.ComponentResource {
  /** Id of the backend service, for the edge's URL map. */
  public readonly backendService: pulumi.Output<string>;

  constructor(name: string, args: GkeEdgeBackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:GkeEdgeBackend", name, {}, opts);
    const childOpts = { parent: this, dependsOn: [...(args.apis ?? [])] };
    const { project } = args;

    const firewall = new gcp.compute.Firewall(
      `${name}-allow-lb`,
      {
        project,
        network: args.network,
        direction: "INGRESS",
        description: "Google health checks and load-balancer proxies to the API pods (NEG endpoints)",
        sourceRanges: [...GOOGLE_LOAD_BALANCER_RANGES],
        targetServiceAccounts: [args.nodeServiceAccount],
        allows: [{ protocol: "tcp", ports: [String(args.containerPort)] }],
      },
      childOpts,
    );
    const healthCheck = new gcp.compute.HealthCheck(
      `${name}-health`,
      {
        project,
        // USE_SERVING_PORT: each endpoint is checked on its own port, the container's.
        httpHealthCheck: { portSpecification: "USE_SERVING_PORT", requestPath: args.healthPath },
        checkIntervalSec: 5,
        timeoutSec: 3,
        healthyThreshold: 1,
        unhealthyThreshold: 2,
      },
      childOpts,
    );

    // The NEGs exist only once the NEG controller has seen the Service, so the lookup depends on it;
    // one NEG per zone the cluster has nodes in.
    const zones = gcp.container
      .getClusterOutput(
        { project, name: args.cluster.name, location: args.cluster.location },
        { parent: this },
      )
      .apply((cluster) => cluster.nodeLocations);
    const negs = zones.apply((names) =>
      pulumi.all(
        names.map((zone) =>
          gcp.compute.getNetworkEndpointGroupOutput(
            { project, name: args.negName, zone },
            { parent: this, dependsOn: [args.service] },
          ),
        ),
      ),
    );

    const backendService = new gcp.compute.BackendService(
      name,
      {
        project,
        loadBalancingScheme: "EXTERNAL_MANAGED",
        protocol: "HTTP",
        healthChecks: healthCheck.id,
        securityPolicy: args.securityPolicy,
        connectionDrainingTimeoutSec: args.connectionDrainingSeconds,
        logConfig: { enable: true, sampleRate: args.logSampleRate },
        backends: negs.apply((groups) =>
          groups.map((neg) => ({
            group: neg.id,
            balancingMode: "RATE",
            maxRatePerEndpoint: args.maxRatePerEndpoint,
          })),
        ),
      },
      { ...childOpts, dependsOn: [...childOpts.dependsOn, firewall] },
    );

    this.backendService = backendService.id;
    this.registerOutputs({ backendService: this.backendService });
  }
}
