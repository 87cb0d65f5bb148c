// The stack: typed config first, then the project's APIs, the data tier (identical for both
// platforms), then the API on GKE or Cloud Run. Composition only; every resource lives in a
// component under components/.
//
// Logical names start with `items-`, not the product name `items-api`: they become GCP names
// (Pulumi appends an 8-character suffix to auto-named ones), and GCP limits several of them
// tightly, e.g. a service account id to 30 characters (`items-api-sa` + suffix fits; a longer
// prefix would not leave room for the component's own part).
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
import { ProjectApis } from "./components/project/apis";
import { loadStackConfig, PROJECT_NAME } from "./config";
import { requiredApis } from "./lib/resource-types";

const cfg = loadStackConfig();
const { project, region } = cfg.gcp;

const labels = stackLabels({ app: PROJECT_NAME, stack: pulumi.getStack() });
const gcpProvider = new gcp.Provider("gcp", { project, region, defaultLabels: labels });
const apis = new ProjectApis("items-apis", { apis: requiredApis() }, { providers: [gcpProvider] });
// Every component waits for every API: a resource created while its API is still being enabled fails
// (tests/infra/api-dependencies.test.ts walks the plan's graph to prove none can).
const withGcp = { providers: [gcpProvider], dependsOn: [...apis.services] };

// Data tier. Nothing platform-dependent flows into it, so switching `platform` never touches it.
const network = new Network(
  "items-net",
  { region, settings: cfg.network, protectPrivateServiceAccess: cfg.deletionProtection },
  withGcp,
);
const dataPlacement = {
  region,
  deletionProtection: cfg.deletionProtection,
  network: network.networkId,
  privateServiceAccess: network.privateServiceAccess,
};
const database = new Database(
  "items-db",
  {
    ...dataPlacement,
    settings: cfg.database,
    allocatedIpRange: network.privateServiceAccessRangeName,
    userLabels: labels,
  },
  withGcp,
);
const cache = new Cache(
  "items-cache",
  { ...dataPlacement, settings: cfg.cache, reservedIpRange: network.privateServiceAccessRangeName },
  withGcp,
);
const image = new Image(
  "items",
  { project, region, apis: [apis.service("artifactregistry.googleapis.com")] },
  withGcp,
);

const secrets = {
  databaseUrl: database.primaryUrl,
  databaseReplicaUrls: database.replicaUrls,
  databaseCaCert: database.caCert,
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
      regional: cfg.gke.regional,
      network: network.networkId,
      subnetwork: network.subnetworkId,
      podsRangeName: network.podsRangeName,
      servicesRangeName: network.servicesRangeName,
      machineType: cfg.gke.machineType,
      minNodesPerZone: cfg.gke.minNodes,
      maxNodesPerZone: cfg.gke.maxNodes,
      releaseChannel: cfg.gke.releaseChannel,
      deletionProtection: cfg.deletionProtection,
      apis: [apis.service("container.googleapis.com"), apis.service("iam.googleapis.com")],
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
      minReplicas: cfg.gke.minReplicas,
      maxReplicas: cfg.gke.maxReplicas,
      cpuTargetPercent: cfg.gke.cpuTargetPercent,
      hpaMetric: cfg.gke.hpaMetric,
      targetRpsPerPod: cfg.gke.targetRpsPerPod,
      apis: [apis.service("iam.googleapis.com"), apis.service("compute.googleapis.com")],
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
        apis: [apis.service("iam.googleapis.com"), apis.service("monitoring.googleapis.com")],
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
      minInstances: cfg.cloudrun.minInstances,
      maxInstances: cfg.cloudrun.maxInstances,
      concurrency: cfg.cloudrun.concurrency,
      publicInvoker: cfg.cloudrun.publicInvoker,
      startupCpuBoost: cfg.cloudrun.startupCpuBoost,
      deletionProtection: cfg.deletionProtection,
      apis: [apis.service("run.googleapis.com"), apis.service("iam.googleapis.com")],
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
    databaseMaxConnections: cfg.database.maxConnections,
    ...cfg.observability,
    apis: [apis.service("monitoring.googleapis.com")],
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
