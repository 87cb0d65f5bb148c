// The stack: typed config first, then the data tier (identical for both platforms), then the API on
// GKE, Cloud Run or both, behind the edge (the load balancer, identical whatever the platform).
// Composition only; every resource lives in a component under components/.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import { Cache } from "./components/data/cache";
import { CloudRunEdgeBackend } from "./components/edge/cloud-run-backend";
import { CloudRunService } from "./components/cloudrun/service";
import { Database } from "./components/data/database";
import { Edge } from "./components/edge/edge";
import { EdgeSecurityPolicy } from "./components/edge/security-policy";
import { GkeEdgeBackend } from "./components/edge/gke-backend";
import { GkeCluster } from "./components/gke/cluster";
import { GkeWorkload } from "./components/gke/workload";
import { Image } from "./components/image/image";
import { stackLabels } from "./lib/labels";
import { MetricsAdapter } from "./components/gke/metrics-adapter";
import { Network } from "./components/data/network";
import { Observability, type ObservedWorkload } from "./components/observability/observability";
import { loadStackConfig, PROJECT_NAME, trafficShares, type ServingPlatform } from "./config";

const cfg = loadStackConfig();
const { project, region } = cfg.gcp;

const labels = stackLabels({ app: PROJECT_NAME, stack: pulumi.getStack() });
const gcpProvider = new gcp.Provider("gcp", { project, region, defaultLabels: labels });
const withGcp = { providers: [gcpProvider] };

// Data tier. Nothing platform-dependent flows into it, so switching `platform` never touches it.
const network = new Network("items-net", { region, ...cfg.network }, withGcp);
const database = new Database(
  "items-db",
  {
    region,
    network: network.networkId,
    privateServiceAccess: network.privateServiceAccess,
    allocatedIpRange: network.privateServiceAccessRangeName,
    apis: [network.apis.sqladmin, network.apis.secretmanager],
    databaseVersion: cfg.database.version,
    tier: cfg.database.tier,
    availabilityType: cfg.database.availabilityType,
    diskSizeGb: cfg.database.diskSizeGb,
    replicaCount: cfg.database.replicaCount,
    maxConnections: cfg.database.maxConnections,
    pointInTimeRecovery: cfg.database.pointInTimeRecovery,
    backupStartTime: cfg.database.backupStartTime,
    maintenanceWindow: cfg.database.maintenanceWindow,
    databaseName: cfg.database.databaseName,
    userName: cfg.database.userName,
    deletionProtection: cfg.deletionProtection,
    userLabels: labels,
  },
  withGcp,
);
const cache = new Cache(
  "items-cache",
  {
    region,
    network: network.networkId,
    privateServiceAccess: network.privateServiceAccess,
    reservedIpRange: network.privateServiceAccessRangeName,
    apis: [network.apis.redis, network.apis.secretmanager],
    tier: cfg.cache.tier,
    memorySizeGb: cfg.cache.memorySizeGb,
    redisVersion: cfg.cache.redisVersion,
    deletionProtection: cfg.deletionProtection,
  },
  withGcp,
);
const image = new Image("items", { project, region, apis: [network.apis.artifactregistry] }, withGcp);

const secrets = {
  databaseUrl: database.primaryUrl,
  databaseReplicaUrl: database.replicaUrl,
  redisUrl: cache.url,
  redisCaCert: cache.caCert,
};

// The edge's Cloud Armor policy: platform-independent, attached to every backend service.
const edgeSecurity = new EdgeSecurityPolicy(
  "items-edge-armor",
  {
    project,
    rateLimit: cfg.edge.rateLimit,
    wafRules: cfg.edge.wafRules,
    rules: cfg.edge.rules,
    apis: [network.apis.compute],
  },
  withGcp,
);
const backendSettings = {
  project,
  securityPolicy: edgeSecurity.policyId,
  logSampleRate: cfg.edge.logSampleRate,
  apis: [network.apis.compute],
};

/** One platform the API runs on: the edge's backend service for it and what its metrics are scoped by. */
interface DeployedApi {
  readonly backendService: pulumi.Output<string>;
  readonly workload: ObservedWorkload;
}

function deployOnGke(): DeployedApi {
  const cluster = new GkeCluster(
    "items-gke",
    {
      project,
      region,
      settings: cfg.gke,
      deletionProtection: cfg.deletionProtection,
      network: network.networkId,
      subnetwork: network.subnetworkId,
      podsRangeName: network.podsRangeName,
      servicesRangeName: network.servicesRangeName,
      apis: [network.apis.container, network.apis.iam],
    },
    withGcp,
  );
  const workload = new GkeWorkload(
    "items-api",
    {
      project,
      provider: cluster.provider,
      workloadPool: cluster.workloadPool,
      imageRef: image.imageRef,
      secrets,
      app: cfg.app,
      settings: cfg.gke,
      apis: [network.apis.iam, network.apis.compute],
    },
    withGcp,
  );
  if (cfg.gke.hpaMetric === "rps") {
    new MetricsAdapter(
      "items-metrics-adapter",
      {
        project,
        provider: cluster.provider,
        workloadPool: cluster.workloadPool,
        apis: [network.apis.iam, network.apis.monitoring],
      },
      withGcp,
    );
  }
  const backend = new GkeEdgeBackend(
    "items-edge-gke",
    {
      ...backendSettings,
      network: network.networkId,
      nodeServiceAccount: cluster.nodeServiceAccountEmail,
      cluster: { name: cluster.name, location: cluster.location },
      service: workload.service,
      negName: workload.negName,
      containerPort: workload.servingPort,
      healthPath: "/readyz",
      connectionDrainingSeconds: workload.connectionDrainingSeconds,
      // The HPA's per-pod request target, so the balancer's idea of a full pod matches the autoscaler's.
      maxRatePerEndpoint: cfg.gke.targetRpsPerPod,
    },
    withGcp,
  );
  return {
    backendService: backend.backendService,
    workload: { platform: "gke", namespace: workload.namespace },
  };
}

function deployOnCloudRun(): DeployedApi {
  const service = new CloudRunService(
    "items-api",
    {
      project,
      region,
      network: network.networkId,
      subnetwork: network.subnetworkId,
      imageRef: image.imageRef,
      secrets,
      app: cfg.app,
      settings: cfg.cloudrun,
      deletionProtection: cfg.deletionProtection,
      apis: [network.apis.run, network.apis.iam],
    },
    withGcp,
  );
  const backend = new CloudRunEdgeBackend(
    "items-edge-cloudrun",
    { ...backendSettings, region, serviceName: service.serviceName },
    withGcp,
  );
  return {
    backendService: backend.backendService,
    workload: { platform: "cloudrun", serviceName: service.serviceName },
  };
}

const deploy: Record<ServingPlatform, () => DeployedApi> = { gke: deployOnGke, cloudrun: deployOnCloudRun };
const deployed = trafficShares(cfg).map(({ platform, weight }) => ({ ...deploy[platform](), weight }));
const edge = new Edge(
  "items-edge",
  {
    project,
    domain: cfg.edge.domain,
    minTlsVersion: cfg.edge.minTlsVersion,
    backends: deployed.map(({ backendService, weight }) => ({ backendService, weight })),
    apis: [network.apis.compute],
  },
  withGcp,
);

export const platform = cfg.platform;
new Observability(
  "items-obs",
  {
    project,
    workloads: deployed.map((api) => api.workload),
    url: edge.url,
    urlMapName: edge.urlMapName,
    settings: cfg.observability,
    databaseMaxConnections: cfg.database.maxConnections,
    apis: [network.apis.monitoring],
  },
  withGcp,
);

export const url = edge.url;
export const edgeIp = edge.ipAddress;
export const edgeNote = edge.note;
export const databaseConnectionName = database.connectionName;
export const databasePrivateIp = database.privateIp;
export const databaseReplicaPrivateIps = database.replicaPrivateIps;
export const cacheHost = cache.host;
export const cachePort = cache.port;
export const imageRef = image.imageRef;
