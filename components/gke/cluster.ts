import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type ReleaseChannel = "RAPID" | "REGULAR" | "STABLE";

export interface MasterAuthorizedNetwork {
  readonly cidrBlock: string;
  readonly displayName: string;
}

export interface GkeClusterArgs {
  /** GCP project id (required). */
  readonly project: string;
  /** Region, e.g. "europe-west1" (required). */
  readonly region: string;
  /** Regional control plane and nodes in every zone of the region; default true. */
  readonly regional?: boolean;
  /** Zone of a zonal cluster; default `${region}-b`. Ignored when `regional`. */
  readonly zone?: string;
  /** VPC network id or self link (required). */
  readonly network: pulumi.Input<string>;
  /** Subnetwork id or self link holding the nodes (required). */
  readonly subnetwork: pulumi.Input<string>;
  /** Name of the subnet's secondary range for pods (required). */
  readonly podsRangeName: pulumi.Input<string>;
  /** Name of the subnet's secondary range for services (required). */
  readonly servicesRangeName: pulumi.Input<string>;
  /** Node machine type; default "e2-standard-4". */
  readonly machineType?: string;
  /** Node boot disk size in GB; default 50. */
  readonly diskSizeGb?: number;
  /** Autoscaler minimum nodes per zone; default 1. */
  readonly minNodesPerZone?: number;
  /** Autoscaler maximum nodes per zone; default 10. */
  readonly maxNodesPerZone?: number;
  /** GKE release channel; default "REGULAR". */
  readonly releaseChannel?: ReleaseChannel;
  /** Block deletion of the cluster; default true (turn off for dev stacks so `destroy` completes). */
  readonly deletionProtection?: boolean;
  /**
   * CIDRs allowed to reach the public control-plane endpoint; default none, which leaves the
   * endpoint reachable from anywhere but still gated by Google IAM + RBAC (CI runners have no fixed IPs).
   */
  readonly masterAuthorizedNetworks?: readonly MasterAuthorizedNetwork[];
  /** Start of the daily 4-hour maintenance window, "HH:MM" UTC; default "02:00". */
  readonly maintenanceStartTime?: string;
  /** Enabled APIs the cluster and its service account wait for (container, iam); default none. */
  readonly apis?: readonly pulumi.Resource[];
}

export interface ResolvedGkeClusterArgs {
  readonly project: string;
  readonly region: string;
  readonly location: string;
  readonly regional: boolean;
  readonly machineType: string;
  readonly diskSizeGb: number;
  readonly minNodesPerZone: number;
  readonly maxNodesPerZone: number;
  readonly releaseChannel: ReleaseChannel;
  readonly deletionProtection: boolean;
  readonly masterAuthorizedNetworks: readonly MasterAuthorizedNetwork[];
  readonly maintenanceStartTime: string;
}

const RELEASE_CHANNELS: readonly ReleaseChannel[] = ["RAPID", "REGULAR", "STABLE"];
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

/** The only roles GKE nodes need: write logs/metrics as a node, and pull the app's image. */
export const NODE_SERVICE_ACCOUNT_ROLES = [
  "roles/container.defaultNodeServiceAccount",
  "roles/artifactregistry.reader",
] as const;

export function resolveGkeClusterArgs(args: GkeClusterArgs): ResolvedGkeClusterArgs {
  if (!/^[a-z]+-[a-z]+\d+$/.test(args.region)) {
    throw new Error(`\`region\` must be a GCP region such as "europe-west1", got "${args.region}"`);
  }
  const regional = args.regional ?? true;
  const zone = args.zone ?? `${args.region}-b`;
  if (!regional && !new RegExp(`^${args.region}-[a-z]$`).test(zone)) {
    throw new Error(`\`zone\` must be a zone of region ${args.region}, got "${zone}"`);
  }
  const minNodesPerZone = args.minNodesPerZone ?? 1;
  const maxNodesPerZone = args.maxNodesPerZone ?? 10;
  if (!Number.isInteger(minNodesPerZone) || minNodesPerZone < 0) {
    throw new Error(`\`minNodesPerZone\` must be an integer >= 0, got ${minNodesPerZone}`);
  }
  if (!Number.isInteger(maxNodesPerZone) || maxNodesPerZone < Math.max(1, minNodesPerZone)) {
    throw new Error(
      `\`maxNodesPerZone\` must be an integer >= 1 and >= \`minNodesPerZone\` (${minNodesPerZone}), got ${maxNodesPerZone}`,
    );
  }
  const releaseChannel = args.releaseChannel ?? "REGULAR";
  if (!RELEASE_CHANNELS.includes(releaseChannel)) {
    throw new Error(
      `\`releaseChannel\` must be one of ${RELEASE_CHANNELS.join(", ")}, got "${releaseChannel}"`,
    );
  }
  const diskSizeGb = args.diskSizeGb ?? 50;
  if (!Number.isInteger(diskSizeGb) || diskSizeGb < 10) {
    throw new Error(`\`diskSizeGb\` must be an integer >= 10, got ${diskSizeGb}`);
  }
  const maintenanceStartTime = args.maintenanceStartTime ?? "02:00";
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(maintenanceStartTime)) {
    throw new Error(`\`maintenanceStartTime\` must be "HH:MM" (UTC), got "${maintenanceStartTime}"`);
  }
  const masterAuthorizedNetworks = args.masterAuthorizedNetworks ?? [];
  const badCidr = masterAuthorizedNetworks.find((network) => !CIDR.test(network.cidrBlock));
  if (badCidr) {
    throw new Error(`\`masterAuthorizedNetworks\` entries must be IPv4 CIDRs, got "${badCidr.cidrBlock}"`);
  }
  return {
    project: args.project,
    region: args.region,
    location: regional ? args.region : zone,
    regional,
    machineType: args.machineType ?? "e2-standard-4",
    diskSizeGb,
    minNodesPerZone,
    maxNodesPerZone,
    releaseChannel,
    deletionProtection: args.deletionProtection ?? true,
    masterAuthorizedNetworks,
    maintenanceStartTime,
  };
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
    super("gcp-async-api:gcp:GkeCluster", name, {}, opts);
    const resolved = resolveGkeClusterArgs(args);
    const workloadPool = `${resolved.project}.svc.id.goog`;
    const apis = [...(args.apis ?? [])];

    const nodeServiceAccount = new gcp.serviceaccount.Account(
      `${name}-nodes`,
      { project: resolved.project, displayName: `GKE nodes of ${name}` },
      { parent: this, dependsOn: apis },
    );
    const nodeRoles = NODE_SERVICE_ACCOUNT_ROLES.map(
      (role) =>
        new gcp.projects.IAMMember(
          `${name}-nodes-${role.split("/")[1].replace(/\./g, "-")}`,
          { project: resolved.project, role, member: nodeServiceAccount.member },
          { parent: this },
        ),
    );

    const cluster = new gcp.container.Cluster(
      name,
      {
        project: resolved.project,
        location: resolved.location,
        network: args.network,
        subnetwork: args.subnetwork,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: {
          clusterSecondaryRangeName: args.podsRangeName,
          servicesSecondaryRangeName: args.servicesRangeName,
        },
        // The default pool cannot be configured without nodeConfig here, and nodeConfig on the
        // cluster forces replacing the whole cluster on change: start with one throwaway node.
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false },
        ...(resolved.masterAuthorizedNetworks.length > 0
          ? {
              masterAuthorizedNetworksConfig: {
                cidrBlocks: resolved.masterAuthorizedNetworks.map((n) => ({ ...n })),
              },
            }
          : {}),
        workloadIdentityConfig: { workloadPool },
        releaseChannel: { channel: resolved.releaseChannel },
        datapathProvider: "ADVANCED_DATAPATH",
        enableShieldedNodes: true,
        // Node auto-provisioning stays off (enabled: false, no limits): the profile alone, in the
        // upper-case form the API returns, is what avoids the perpetual diff.
        clusterAutoscaling: { enabled: false, autoscalingProfile: "OPTIMIZE_UTILIZATION" },
        maintenancePolicy: { dailyMaintenanceWindow: { startTime: resolved.maintenanceStartTime } },
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
        deletionProtection: resolved.deletionProtection,
      },
      { parent: this, dependsOn: apis },
    );

    // No fixed `name`: a change that replaces the pool gets a new generated name, so Pulumi
    // creates the new pool before deleting the old one and capacity never drops to zero.
    const nodePool = new gcp.container.NodePool(
      `${name}-pool`,
      {
        project: resolved.project,
        cluster: cluster.name,
        location: cluster.location,
        initialNodeCount: resolved.minNodesPerZone,
        autoscaling: {
          minNodeCount: resolved.minNodesPerZone,
          maxNodeCount: resolved.maxNodesPerZone,
          locationPolicy: "BALANCED",
        },
        management: { autoRepair: true, autoUpgrade: true },
        // Surge one node at a time and never take one away first: upgrades keep full capacity.
        upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
        nodeConfig: {
          machineType: resolved.machineType,
          diskSizeGb: resolved.diskSizeGb,
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
