// Every custom resource type the program can register (both stacks, both platforms, every option),
// with the Google API that serves it and the predefined IAM roles that deploy and preview it. This
// table is the one owner of those facts: ProjectApis enables `requiredApis()`, every resource waits
// for its type's API, the bootstrap grants `deployRoles()` and `previewRoles()`, the policy pack and
// the infra tests name types through `T`. tests/infra/resource-types.test.ts plans every variant and
// fails on a type missing here. Pure data: imported by the policy pack, which has no @pulumi/gcp.
//
// Roles were checked against Google's predefined-role definitions (IAM "roles and permissions"
// reference pages, as mirrored in github.com/iann0036/iam-dataset, gcp/roles/*.json, 2026-08):
// each deploy role holds the type's create/update/delete permissions, each preview role its
// get/list/getIamPolicy permissions. Two deliberate exceptions, both written next to the entry:
// - Kubernetes objects: pulumi-kubernetes previews with a server-side dry run, which the API server
//   authorizes as the real verb (create/patch), so a read-only role cannot preview them
//   (pulumi-kubernetes#2213, #2521). roles/container.developer is the narrowest predefined role that
//   may dry-run every namespaced object and Namespace/APIService; RBAC objects (ClusterRole, ...)
//   need roles/container.admin to write, which a preview identity must not hold: their dry-run patch
//   falls back to a client-side diff (pulumi-kubernetes#2419), a new RBAC object fails the preview.
// - Secret values and the Redis AUTH string are not readable by the preview roles, so
//   `pulumi preview --refresh` cannot re-read them; a plain `pulumi preview` never does.

/** The Google APIs (service names) the stack's resources and workloads use. */
export type GoogleApi =
  | "artifactregistry.googleapis.com"
  | "cloudresourcemanager.googleapis.com"
  | "compute.googleapis.com"
  | "container.googleapis.com"
  | "iam.googleapis.com"
  | "logging.googleapis.com"
  | "monitoring.googleapis.com"
  | "redis.googleapis.com"
  | "run.googleapis.com"
  | "secretmanager.googleapis.com"
  | "servicenetworking.googleapis.com"
  | "serviceusage.googleapis.com"
  | "sqladmin.googleapis.com";

/** Where a labellable type takes the `app`/`stack` labels from. */
export type Labelling =
  /** Top-level `labels`: the gcp provider's `defaultLabels` are merged in. */
  | "provider-defaults"
  /** A field the provider's `defaultLabels` never reach (Cloud SQL `settings.userLabels`). */
  | "own-field";

export interface ResourceType {
  readonly type: string;
  /** The Google API serving it; null for objects no project-level Google API serves (Kubernetes, random, docker build). */
  readonly api: GoogleApi | null;
  /** Predefined roles that let the deploy identity create, update and delete it. */
  readonly deploy: readonly string[];
  /** Predefined roles the preview identity needs to preview it (read-only except Kubernetes objects, see above). */
  readonly preview: readonly string[];
  /** Absent: the type has no labels. */
  readonly labels?: Labelling;
}

const COMPUTE = "compute.googleapis.com";
const NETWORK = {
  api: COMPUTE,
  deploy: ["roles/compute.networkAdmin"],
  preview: ["roles/compute.networkViewer"],
} as const;
const SQL = {
  api: "sqladmin.googleapis.com",
  deploy: ["roles/cloudsql.admin"],
  preview: ["roles/cloudsql.viewer"],
} as const;
const SECRETS = {
  api: "secretmanager.googleapis.com",
  deploy: ["roles/secretmanager.admin"],
  preview: ["roles/secretmanager.viewer"],
} as const;
const SERVICE_ACCOUNTS = {
  api: "iam.googleapis.com",
  deploy: ["roles/iam.serviceAccountAdmin"],
  preview: ["roles/iam.serviceAccountViewer"],
} as const;
/**
 * The edge's load balancer parts. roles/compute.loadBalancerAdmin creates backend services, URL maps,
 * target proxies, forwarding rules, health checks, NEGs, SSL certificates and policies; firewall rules
 * and Cloud Armor policies are roles/compute.securityAdmin's. compute.networkViewer reads them all.
 */
const LOAD_BALANCER = {
  api: COMPUTE,
  deploy: ["roles/compute.loadBalancerAdmin"],
  preview: ["roles/compute.networkViewer"],
} as const;
const SECURITY = {
  api: COMPUTE,
  deploy: ["roles/compute.securityAdmin"],
  preview: ["roles/compute.networkViewer"],
} as const;
const MONITORING = "monitoring.googleapis.com";
const MONITORING_VIEWER = ["roles/monitoring.viewer"];
/** Kubernetes objects in the GKE cluster: authorized by GKE IAM, served by the cluster, not a project API. */
const KUBERNETES_OBJECT = {
  api: null,
  deploy: ["roles/container.developer"],
  preview: ["roles/container.developer"],
} as const;
/** RBAC objects: only roles/container.admin holds container.clusterRoles.create and the like. */
const KUBERNETES_RBAC = {
  api: null,
  deploy: ["roles/container.admin"],
  preview: ["roles/container.developer"],
} as const;
/** Setting a workload's service account (node pool, Cloud Run) needs iam.serviceAccounts.actAs on it. */
const ACT_AS = "roles/iam.serviceAccountUser";

/** Keyed by the short names tests and policies use; `type` is the Pulumi type token. */
export const RESOURCE_TYPES = {
  apiService: {
    type: "gcp:projects/service:Service",
    // serviceusage itself cannot be enabled through the API it serves: the bootstrap enables it.
    api: "serviceusage.googleapis.com",
    deploy: ["roles/serviceusage.serviceUsageAdmin"],
    preview: ["roles/serviceusage.serviceUsageViewer"],
  },
  projectIamMember: {
    type: "gcp:projects/iAMMember:IAMMember",
    api: "cloudresourcemanager.googleapis.com",
    deploy: ["roles/resourcemanager.projectIamAdmin"],
    // roles/browser holds resourcemanager.projects.getIamPolicy without every other service's policies.
    preview: ["roles/browser"],
  },
  network: { type: "gcp:compute/network:Network", ...NETWORK },
  subnetwork: { type: "gcp:compute/subnetwork:Subnetwork", ...NETWORK },
  globalAddress: { type: "gcp:compute/globalAddress:GlobalAddress", ...NETWORK, labels: "provider-defaults" },
  router: { type: "gcp:compute/router:Router", ...NETWORK },
  backendService: { type: "gcp:compute/backendService:BackendService", ...LOAD_BALANCER },
  healthCheck: { type: "gcp:compute/healthCheck:HealthCheck", ...LOAD_BALANCER },
  serverlessNeg: {
    type: "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
    ...LOAD_BALANCER,
  },
  urlMap: { type: "gcp:compute/uRLMap:URLMap", ...LOAD_BALANCER },
  targetHttpProxy: { type: "gcp:compute/targetHttpProxy:TargetHttpProxy", ...LOAD_BALANCER },
  targetHttpsProxy: { type: "gcp:compute/targetHttpsProxy:TargetHttpsProxy", ...LOAD_BALANCER },
  managedCertificate: { type: "gcp:compute/managedSslCertificate:ManagedSslCertificate", ...LOAD_BALANCER },
  sslPolicy: { type: "gcp:compute/sSLPolicy:SSLPolicy", ...LOAD_BALANCER },
  globalForwardingRule: {
    type: "gcp:compute/globalForwardingRule:GlobalForwardingRule",
    ...LOAD_BALANCER,
    labels: "provider-defaults",
  },
  firewall: { type: "gcp:compute/firewall:Firewall", ...SECURITY },
  securityPolicy: {
    type: "gcp:compute/securityPolicy:SecurityPolicy",
    ...SECURITY,
    labels: "provider-defaults",
  },
  routerNat: { type: "gcp:compute/routerNat:RouterNat", ...NETWORK },
  // compute.networkAdmin holds servicenetworking.services.addPeering and networkViewer
  // servicenetworking.services.get, so no Service Networking role is needed.
  privateServiceConnection: {
    type: "gcp:servicenetworking/connection:Connection",
    api: "servicenetworking.googleapis.com",
    deploy: NETWORK.deploy,
    preview: NETWORK.preview,
  },
  sqlInstance: { type: "gcp:sql/databaseInstance:DatabaseInstance", ...SQL, labels: "own-field" },
  sqlDatabase: { type: "gcp:sql/database:Database", ...SQL },
  sqlUser: { type: "gcp:sql/user:User", ...SQL },
  password: { type: "random:index/randomPassword:RandomPassword", api: null, deploy: [], preview: [] },
  redisInstance: {
    type: "gcp:redis/instance:Instance",
    api: "redis.googleapis.com",
    deploy: ["roles/redis.admin"],
    preview: ["roles/redis.viewer"],
    labels: "provider-defaults",
  },
  secret: { type: "gcp:secretmanager/secret:Secret", ...SECRETS, labels: "provider-defaults" },
  secretVersion: { type: "gcp:secretmanager/secretVersion:SecretVersion", ...SECRETS },
  secretIamMember: { type: "gcp:secretmanager/secretIamMember:SecretIamMember", ...SECRETS },
  repository: {
    type: "gcp:artifactregistry/repository:Repository",
    api: "artifactregistry.googleapis.com",
    deploy: ["roles/artifactregistry.admin"],
    preview: ["roles/artifactregistry.reader"],
    labels: "provider-defaults",
  },
  // Built locally, pushed to Artifact Registry: the push is what needs the API and the role.
  dockerImage: {
    type: "docker-build:index:Image",
    api: "artifactregistry.googleapis.com",
    deploy: ["roles/artifactregistry.writer"],
    preview: ["roles/artifactregistry.reader"],
  },
  serviceAccount: { type: "gcp:serviceaccount/account:Account", ...SERVICE_ACCOUNTS },
  serviceAccountIamMember: { type: "gcp:serviceaccount/iAMMember:IAMMember", ...SERVICE_ACCOUNTS },
  gkeCluster: {
    type: "gcp:container/cluster:Cluster",
    api: "container.googleapis.com",
    deploy: ["roles/container.clusterAdmin", ACT_AS],
    preview: ["roles/container.clusterViewer"],
    labels: "provider-defaults",
  },
  gkeNodePool: {
    type: "gcp:container/nodePool:NodePool",
    api: "container.googleapis.com",
    deploy: ["roles/container.clusterAdmin", ACT_AS],
    preview: ["roles/container.clusterViewer"],
  },
  cloudRunService: {
    type: "gcp:cloudrunv2/service:Service",
    api: "run.googleapis.com",
    deploy: ["roles/run.developer", ACT_AS],
    preview: ["roles/run.viewer"],
    labels: "provider-defaults",
  },
  alertPolicy: {
    type: "gcp:monitoring/alertPolicy:AlertPolicy",
    api: MONITORING,
    deploy: ["roles/monitoring.alertPolicyEditor"],
    preview: MONITORING_VIEWER,
  },
  dashboard: {
    type: "gcp:monitoring/dashboard:Dashboard",
    api: MONITORING,
    deploy: ["roles/monitoring.dashboardEditor"],
    preview: MONITORING_VIEWER,
  },
  notificationChannel: {
    type: "gcp:monitoring/notificationChannel:NotificationChannel",
    api: MONITORING,
    deploy: ["roles/monitoring.notificationChannelEditor"],
    preview: MONITORING_VIEWER,
  },
  uptimeCheck: {
    type: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
    api: MONITORING,
    deploy: ["roles/monitoring.uptimeCheckConfigEditor"],
    preview: MONITORING_VIEWER,
  },
  monitoredService: {
    type: "gcp:monitoring/customService:CustomService",
    api: MONITORING,
    deploy: ["roles/monitoring.servicesEditor"],
    preview: MONITORING_VIEWER,
  },
  slo: {
    type: "gcp:monitoring/slo:Slo",
    api: MONITORING,
    deploy: ["roles/monitoring.servicesEditor"],
    preview: MONITORING_VIEWER,
  },
  namespace: { type: "kubernetes:core/v1:Namespace", ...KUBERNETES_OBJECT },
  kubernetesServiceAccount: { type: "kubernetes:core/v1:ServiceAccount", ...KUBERNETES_OBJECT },
  kubernetesSecret: { type: "kubernetes:core/v1:Secret", ...KUBERNETES_OBJECT },
  kubernetesService: { type: "kubernetes:core/v1:Service", ...KUBERNETES_OBJECT },
  deployment: { type: "kubernetes:apps/v1:Deployment", ...KUBERNETES_OBJECT },
  horizontalPodAutoscaler: {
    type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    ...KUBERNETES_OBJECT,
  },
  podDisruptionBudget: { type: "kubernetes:policy/v1:PodDisruptionBudget", ...KUBERNETES_OBJECT },
  ingress: { type: "kubernetes:networking.k8s.io/v1:Ingress", ...KUBERNETES_OBJECT },
  backendConfig: { type: "kubernetes:cloud.google.com/v1:BackendConfig", ...KUBERNETES_OBJECT },
  podMonitoring: { type: "kubernetes:monitoring.googleapis.com/v1:PodMonitoring", ...KUBERNETES_OBJECT },
  apiRegistration: { type: "kubernetes:apiregistration.k8s.io/v1:APIService", ...KUBERNETES_OBJECT },
  clusterRole: { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", ...KUBERNETES_RBAC },
  clusterRoleBinding: {
    type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    ...KUBERNETES_RBAC,
  },
  roleBinding: { type: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ...KUBERNETES_RBAC },
  // Workload kinds the policy pack checks even though this program registers none today.
  statefulSet: { type: "kubernetes:apps/v1:StatefulSet", ...KUBERNETES_OBJECT },
  daemonSet: { type: "kubernetes:apps/v1:DaemonSet", ...KUBERNETES_OBJECT },
  job: { type: "kubernetes:batch/v1:Job", ...KUBERNETES_OBJECT },
} as const satisfies Record<string, ResourceType>;

export type ResourceTypeName = keyof typeof RESOURCE_TYPES;

/** Short name → type token, e.g. `T.sqlInstance` = "gcp:sql/databaseInstance:DatabaseInstance". */
export const T = Object.fromEntries(
  Object.entries(RESOURCE_TYPES).map(([name, entry]) => [name, entry.type]),
) as { readonly [K in ResourceTypeName]: (typeof RESOURCE_TYPES)[K]["type"] };

const BY_TOKEN: ReadonlyMap<string, ResourceType> = new Map(
  Object.values(RESOURCE_TYPES).map((entry: ResourceType) => [entry.type, entry]),
);

/** The table's entry for a type token; undefined when the program registers a type the table lacks. */
export function resourceType(token: string): ResourceType | undefined {
  return BY_TOKEN.get(token);
}

/** Resource types that are not the program's own resources: providers and the root stack. */
export function isEngineType(token: string): boolean {
  return token.startsWith("pulumi:providers:") || token === "pulumi:pulumi:Stack";
}

/**
 * APIs the workloads call at run time, which no resource type here names: the API's and the nodes'
 * logs go to Cloud Logging. (Metrics go to Cloud Monitoring, already enabled for its resources.)
 */
const RUNTIME_APIS: readonly GoogleApi[] = ["logging.googleapis.com"];

const sortedUnique = <T extends string>(values: Iterable<T>): T[] => [...new Set(values)].sort();

/**
 * The project-level APIs to enable, sorted: every API of a resource type, the runtime APIs, and
 * cloudresourcemanager (project IAM grants) and serviceusage (enabling the others) which a fresh
 * project must have before the first `up`.
 */
export function requiredApis(): GoogleApi[] {
  const fromTypes = Object.values(RESOURCE_TYPES).flatMap((entry: ResourceType) =>
    entry.api ? [entry.api] : [],
  );
  return sortedUnique<GoogleApi>([
    ...fromTypes,
    ...RUNTIME_APIS,
    "cloudresourcemanager.googleapis.com",
    "serviceusage.googleapis.com",
  ]);
}

/** The deploy identity's project roles: exactly the union over the table, sorted. */
export function deployRoles(): string[] {
  return sortedUnique(Object.values(RESOURCE_TYPES).flatMap((entry: ResourceType) => entry.deploy));
}

/** The preview identity's project roles: exactly the union over the table, sorted. */
export function previewRoles(): string[] {
  return sortedUnique(Object.values(RESOURCE_TYPES).flatMap((entry: ResourceType) => entry.preview));
}
