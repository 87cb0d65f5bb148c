// The stack: typed config first, then the project's APIs, the data tier (identical for every
// platform), then the API on GKE, Cloud Run or both, behind the edge (the load balancer, identical
// whatever the platform). Composition only; every resource lives in a component under components/.
//
// Logical names start with `items-`, not the product name `items-api`: they become GCP names
// (Pulumi appends an 8-character suffix to auto-named ones), and GCP limits several of them
// tightly, e.g. a service account id to 30 characters (`items-api-sa` + suffix fits; a longer
// prefix would not leave room for the component's own part).
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
import { ProjectApis } from "./components/project/apis";
import { loadStackConfig, PROJECT_NAME, trafficShares, type ServingPlatform } from "./config";
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

// The edge's Cloud Armor policy: platform-independent, attached to every backend service.
const edgeSecurity = new EdgeSecurityPolicy(
  "items-edge-armor",
  {
    project,
    rateLimit: cfg.edge.rateLimit,
    wafRules: cfg.edge.wafRules,
    rules: cfg.edge.rules,
    apis: [apis.service("compute.googleapis.com")],
  },
  withGcp,
);
const backendSettings = {
  project,
  securityPolicy: edgeSecurity.policyId,
  logSampleRate: cfg.edge.logSampleRate,
  apis: [apis.service("compute.googleapis.com")],
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
      settings: cfg.gke,
      apis: [apis.service("iam.googleapis.com")],
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
      apis: [apis.service("run.googleapis.com"), apis.service("iam.googleapis.com")],
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
    apis: [apis.service("compute.googleapis.com")],
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
    apis: [apis.service("monitoring.googleapis.com")],
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
