import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import type { StackConfig } from "../../config";

/** The stack's `gke` settings, validated and defaulted by config.ts. */
export type GkeSettings = StackConfig["gke"];

export interface GkeClusterArgs {
  /** GCP project id. */
  readonly project: string;
  /** Region of a regional cluster. */
  readonly region: string;
  /** Cluster and node pool settings (regional, zone, machine type, node bounds, channel...). */
  readonly settings: GkeSettings;
  /** Block deletion of the cluster (off in dev so `destroy` completes). */
  readonly deletionProtection: boolean;
  /** VPC network id or self link. */
  readonly network: pulumi.Input<string>;
  /** Subnetwork id or self link holding the nodes. */
  readonly subnetwork: pulumi.Input<string>;
  /** Name of the subnet's secondary range for pods. */
  readonly podsRangeName: pulumi.Input<string>;
  /** Name of the subnet's secondary range for services. */
  readonly servicesRangeName: pulumi.Input<string>;
  /** Enabled APIs the cluster and its service account wait for (container, iam). */
  readonly apis: readonly pulumi.Resource[];
}

/** The only roles GKE nodes need: write logs/metrics as a node, and pull the app's image. */
export const NODE_SERVICE_ACCOUNT_ROLES = [
  "roles/container.defaultNodeServiceAccount",
  "roles/artifactregistry.reader",
] as const;

/** Where the control plane and nodes live: the region, or the one zone of a zonal cluster. */
export function clusterLocation(region: string, settings: Pick<GkeSettings, "regional" | "zone">): string {
  return settings.regional ? region : settings.zone;
}

/** Kubeconfig whose user runs gke-gcloud-auth-plugin: short-lived tokens, no credentials in state. */
export function gkeKubeconfig(clusterName: string, endpoint: string, caCertificate: string): string {
  const context = `gke_${clusterName}`;
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: context,
        cluster: { server: `https://${endpoint}`, "certificate-authority-data": caCertificate },
      },
    ],
    contexts: [{ name: context, context: { cluster: context, user: context } }],
    "current-context": context,
    users: [
      {
        name: context,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "gke-gcloud-auth-plugin",
            installHint: "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            provideClusterInfo: true,
          },
        },
      },
    ],
  });
}

/** A private, VPC-native GKE Standard cluster with one autoscaled node pool and a Kubernetes provider for it. */
export class GkeCluster extends pulumi.ComponentResource {
  public readonly name: pulumi.Output<string>;
  public readonly id: pulumi.Output<string>;
  public readonly location: pulumi.Output<string>;
  /** The control-plane endpoint; secret, so the API server's address is not published in outputs. */
  public readonly endpoint: pulumi.Output<string>;
  /** Kubeconfig using gke-gcloud-auth-plugin; holds no credential, secret because it embeds the endpoint. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** `<project>.svc.id.goog`, known only once the cluster exists (IAM bindings on it must wait). */
  public readonly workloadPool: pulumi.Output<string>;
  public readonly nodeServiceAccountEmail: pulumi.Output<string>;
  public readonly provider: k8s.Provider;

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:GkeCluster", name, {}, opts);
    const { project, settings } = args;
    const workloadPool = `${project}.svc.id.goog`;
    const apis = [...args.apis];

    const nodeServiceAccount = new gcp.serviceaccount.Account(
      `${name}-nodes`,
      { project: project, displayName: `GKE nodes of ${name}` },
      { parent: this, dependsOn: apis },
    );
    const nodeRoles = NODE_SERVICE_ACCOUNT_ROLES.map(
      (role) =>
        new gcp.projects.IAMMember(
          `${name}-nodes-${role.split("/")[1].replace(/\./g, "-")}`,
          { project: project, role, member: nodeServiceAccount.member },
          { parent: this },
        ),
    );

    const cluster = new gcp.container.Cluster(
      name,
      {
        project: project,
        location: clusterLocation(args.region, settings),
        network: args.network,
        subnetwork: args.subnetwork,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: {
          clusterSecondaryRangeName: args.podsRangeName,
          servicesSecondaryRangeName: args.servicesRangeName,
        },
        // The default pool cannot be skipped: start with one throwaway node, removed once the cluster
        // exists. Until then it runs as the node account, not the Compute Engine default account
        // (nodeConfig only shapes that pool; see ignoreChanges below).
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        nodeConfig: {
          serviceAccount: nodeServiceAccount.email,
          oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        },
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false },
        ...(settings.masterAuthorizedNetworks.length > 0
          ? {
              masterAuthorizedNetworksConfig: {
                cidrBlocks: settings.masterAuthorizedNetworks.map((n) => ({ ...n })),
              },
            }
          : {}),
        workloadIdentityConfig: { workloadPool },
        releaseChannel: { channel: settings.releaseChannel },
        datapathProvider: "ADVANCED_DATAPATH",
        enableShieldedNodes: true,
        // Node auto-provisioning stays off (enabled: false, no limits): the profile alone, in the
        // upper-case form the API returns, is what avoids the perpetual diff.
        clusterAutoscaling: { enabled: false, autoscalingProfile: "OPTIMIZE_UTILIZATION" },
        maintenancePolicy: { dailyMaintenanceWindow: { startTime: settings.maintenanceStartTime } },
        addonsConfig: {
          httpLoadBalancing: { disabled: false },
          horizontalPodAutoscaling: { disabled: false },
        },
        gatewayApiConfig: { channel: "CHANNEL_STANDARD" },
        loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "WORKLOADS"] },
        monitoringConfig: {
          enableComponents: ["SYSTEM_COMPONENTS"],
          managedPrometheus: { enabled: true },
        },
        deletionProtection: args.deletionProtection,
      },
      {
        parent: this,
        // The default pool must not start before its account holds the node roles.
        dependsOn: [...apis, ...nodeRoles],
        // A nodeConfig change would replace the whole cluster, and it describes a pool that no longer
        // exists after creation: the node pool below is where node settings live.
        ignoreChanges: ["nodeConfig"],
      },
    );

    // No fixed `name`: a change that replaces the pool gets a new generated name, so Pulumi
    // creates the new pool before deleting the old one and capacity never drops to zero.
    const nodePool = new gcp.container.NodePool(
      `${name}-pool`,
      {
        project: project,
        cluster: cluster.name,
        location: cluster.location,
        initialNodeCount: settings.minNodes,
        autoscaling: {
          minNodeCount: settings.minNodes,
          maxNodeCount: settings.maxNodes,
          locationPolicy: "BALANCED",
        },
        management: { autoRepair: true, autoUpgrade: true },
        // Surge one node at a time and never take one away first: upgrades keep full capacity.
        upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
        nodeConfig: {
          machineType: settings.machineType,
          diskSizeGb: settings.diskSizeGb,
          diskType: "pd-balanced",
          imageType: "COS_CONTAINERD",
          serviceAccount: nodeServiceAccount.email,
          oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          workloadMetadataConfig: { mode: "GKE_METADATA" },
        },
      },
      {
        parent: this,
        // Nodes created before their service account holds its roles fail to pull images or log.
        dependsOn: nodeRoles,
        // Changing the initial size replaces the pool; after creation the autoscaler owns the size.
        ignoreChanges: ["initialNodeCount"],
      },
    );

    this.name = cluster.name;
    this.id = cluster.id;
    this.location = cluster.location;
    this.endpoint = pulumi.secret(cluster.endpoint);
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.masterAuth])
        .apply(([clusterName, endpoint, auth]) =>
          gkeKubeconfig(clusterName, endpoint, auth.clusterCaCertificate),
        ),
    );
    // The value is ours; reading it through the cluster makes every IAM binding on the pool wait
    // for the cluster, without which Google rejects the binding (the pool does not exist yet).
    this.workloadPool = cluster.workloadIdentityConfig.apply(() => workloadPool);
    this.nodeServiceAccountEmail = nodeServiceAccount.email;
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // Only a real cluster replacement replaces the provider and everything deployed through it.
        clusterIdentifier: cluster.id,
      },
      // Workloads deployed before any node exists would wait out their rollout timeouts.
      { parent: this, dependsOn: [nodePool] },
    );

    this.registerOutputs({
      name: this.name,
      id: this.id,
      location: this.location,
      endpoint: this.endpoint,
      kubeconfig: this.kubeconfig,
      workloadPool: this.workloadPool,
      nodeServiceAccountEmail: this.nodeServiceAccountEmail,
    });
  }
}
