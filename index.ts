// The stack: typed config first, then the data tier (identical for both platforms), then the API on
// GKE or Cloud Run. Composition only; every resource lives in a component under components/.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import { Cache } from "./components/data/cache";
import { CloudRunService } from "./components/cloudrun/service";
import { Database } from "./components/data/database";
import { GkeCluster } from "./components/gke/cluster";
import { GkeWorkload } from "./components/gke/workload";
import { Image } from "./components/image/image";
import { stackLabels } from "./lib/labels";
import { MetricsAdapter } from "./components/gke/metrics-adapter";
import { Network } from "./components/data/network";
import { Observability, type ObservedWorkload } from "./components/observability/observability";
import { loadStackConfig, PROJECT_NAME } from "./config";

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

/** The API's public URL and what its metrics are scoped by. */
interface DeployedApi {
  readonly url: pulumi.Output<string>;
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
  return { url: workload.url, workload: { platform: "gke", namespace: workload.namespace } };
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
  return { url: service.url, workload: { platform: "cloudrun", serviceName: service.serviceName } };
}

export const platform = cfg.platform;
const api = cfg.platform === "gke" ? deployOnGke() : deployOnCloudRun();
new Observability(
  "items-obs",
  {
    project,
    workload: api.workload,
    url: api.url,
    settings: cfg.observability,
    databaseMaxConnections: cfg.database.maxConnections,
    apis: [network.apis.monitoring],
  },
  withGcp,
);

export const url = api.url;
export const databaseConnectionName = database.connectionName;
export const databasePrivateIp = database.privateIp;
export const databaseReplicaPrivateIps = database.replicaPrivateIps;
export const cacheHost = cache.host;
export const cachePort = cache.port;
export const imageRef = image.imageRef;
