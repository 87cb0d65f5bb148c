// The pack's rules. Pure: constructing a PolicyPack starts a gRPC server, so only index.ts does
// that, and tests call these policies directly. Resources are matched by type token rather than
// by provider class, so the pack needs neither @pulumi/gcp nor @pulumi/kubernetes at run time.
// Inputs are read defensively: under `pulumi preview` an unknown value throws inside the
// framework's proxy and the policy is reported as "can't run during preview" (advisory).
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";

import { rowsForNeeds, machineVcpus, quotaShortfall, type QuotaGrants, type QuotaNeeds } from "../lib/quotas";
import { RESOURCE_TYPES, T } from "../lib/resource-types";

/** Type tokens the policies match, from the program's one resource-type table. */
export const TYPES = T;
const GCP_PROVIDER = "pulumi:providers:gcp";

/** Stacks whose data and serving resources must survive an accidental `pulumi destroy`. */
export const PROTECTED_STACKS: readonly string[] = ["prod"];

/** Name of the capacity policy; its config key is `targetConcurrentRequests`. */
export const CAPACITY_POLICY = "capacity-covers-target";

export interface CapacityPolicyConfig {
  readonly targetConcurrentRequests: number;
}

/** Name of the quota policy; its config is the project's grants (`items-api:quotas`). */
export const QUOTA_POLICY = "quotas-cover-need";

export type QuotaPolicyConfig = QuotaGrants;

/** Label keys every labellable resource carries; values are the URN's project and stack. */
export const APP_LABEL = "app";
export const STACK_LABEL = "stack";

type Props = Record<string, unknown>;

function isRecord(value: unknown): value is Props {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at a dotted path, or undefined when any step is missing. */
function valueAt(root: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isRecord(node) ? node[key] : undefined), root);
}

function listAt(root: unknown, path: string): unknown[] {
  const value = valueAt(root, path);
  return Array.isArray(value) ? value : [];
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function show(value: unknown): string {
  return value === undefined ? "unset" : JSON.stringify(value);
}

/** Stack and project of a resource: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function urnStackAndProject(urn: string): { readonly stack: string; readonly project: string } {
  const match = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn);
  if (!match) {
    throw new Error(`not a Pulumi resource URN: "${urn}"`);
  }
  return { stack: match[1], project: match[2] };
}

type ResourceCheck = (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void;

/** A mandatory policy that runs `check` on resources of the given types and ignores the rest. */
function resourcePolicy(
  name: string,
  description: string,
  types: readonly string[],
  check: ResourceCheck,
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
      if (types.includes(args.type)) {
        check(args.props, args, report);
      }
    },
  };
}

const isReplica = (sqlInstance: Props): boolean => isNonEmptyString(sqlInstance.masterInstanceName);

export const cloudSqlNoPublicIp = resourcePolicy(
  "cloudsql-no-public-ip",
  "Cloud SQL instances have no public IPv4 address; clients reach them over the private network.",
  [TYPES.sqlInstance],
  (props, args, report) => {
    const ipv4Enabled = valueAt(props, "settings.ipConfiguration.ipv4Enabled");
    if (ipv4Enabled !== false) {
      report(
        `Cloud SQL instance "${args.name}" has settings.ipConfiguration.ipv4Enabled ${show(ipv4Enabled)}: ` +
          "set it to false (Google assigns a public IP when it is unset) and connect through privateNetwork.",
      );
    }
  },
);

const SSL_MODES_REQUIRING_TLS = ["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"];

export const cloudSqlSslRequired = resourcePolicy(
  "cloudsql-ssl-required",
  "Cloud SQL instances refuse unencrypted connections (sslMode ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED).",
  [TYPES.sqlInstance],
  (props, args, report) => {
    const sslMode = valueAt(props, "settings.ipConfiguration.sslMode");
    if (typeof sslMode !== "string" || !SSL_MODES_REQUIRING_TLS.includes(sslMode)) {
      report(
        `Cloud SQL instance "${args.name}" has settings.ipConfiguration.sslMode ${show(sslMode)}: ` +
          `set it to ${SSL_MODES_REQUIRING_TLS.join(" or ")} so plain-text connections are refused.`,
      );
    }
  },
);

export const cloudSqlBackupsAndPitr = resourcePolicy(
  "cloudsql-backups-and-pitr",
  "Primary Cloud SQL instances take automated backups with point-in-time recovery (replicas are exempt).",
  [TYPES.sqlInstance],
  (props, args, report) => {
    if (isReplica(props)) {
      return;
    }
    const backups = valueAt(props, "settings.backupConfiguration.enabled");
    const pitr = valueAt(props, "settings.backupConfiguration.pointInTimeRecoveryEnabled");
    if (backups !== true) {
      report(
        `Cloud SQL primary "${args.name}" has settings.backupConfiguration.enabled ${show(backups)}: set it to true.`,
      );
    }
    if (pitr !== true) {
      report(
        `Cloud SQL primary "${args.name}" has settings.backupConfiguration.pointInTimeRecoveryEnabled ${show(pitr)}: ` +
          "set it to true so the database can be restored to any moment of the retention window.",
      );
    }
  },
);

/** Fields that must be exactly `true` on each type in a protected stack. */
const DELETION_PROTECTION_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [TYPES.sqlInstance]: ["deletionProtection", "settings.deletionProtectionEnabled"],
  [TYPES.gkeCluster]: ["deletionProtection"],
  [TYPES.cloudRunService]: ["deletionProtection"],
};

export const prodDeletionProtection = resourcePolicy(
  "prod-deletion-protection",
  `In the ${PROTECTED_STACKS.join(", ")} stack, Cloud SQL, the GKE cluster and the Cloud Run service have deletion protection on.`,
  Object.keys(DELETION_PROTECTION_FIELDS),
  (props, args, report) => {
    const { stack } = urnStackAndProject(args.urn);
    if (!PROTECTED_STACKS.includes(stack)) {
      return;
    }
    for (const field of DELETION_PROTECTION_FIELDS[args.type]) {
      const value = valueAt(props, field);
      if (value !== true) {
        report(
          `"${args.name}" in stack "${stack}" has ${field} ${show(value)}: set it to true ` +
            "(stack config items-api:deletionProtection) so a destroy or replacement cannot delete it.",
        );
      }
    }
  },
);

/** Data a destroy or an accidental replacement must never delete: Pulumi's `protect` on top of GCP's own flags. */
const PULUMI_PROTECTED_TYPES: readonly string[] = [
  TYPES.sqlInstance,
  TYPES.redisInstance,
  TYPES.privateServiceConnection,
  TYPES.secret,
];

export const prodDataProtected = resourcePolicy(
  "prod-data-protected",
  `In the ${PROTECTED_STACKS.join(", ")} stack, Cloud SQL instances, Memorystore, the private-service-access connection and the secrets carry Pulumi's protect option.`,
  PULUMI_PROTECTED_TYPES,
  (_props, args, report) => {
    const { stack } = urnStackAndProject(args.urn);
    if (PROTECTED_STACKS.includes(stack) && args.opts.protect !== true) {
      report(
        `"${args.name}" in stack "${stack}" is not protected: register it with protect: true ` +
          "(stack config deletionProtection), so `pulumi destroy` or a replacement stops before deleting data.",
      );
    }
  },
);

export const redisAuthAndTls = resourcePolicy(
  "redis-auth-and-tls",
  "Memorystore Redis requires AUTH and serves TLS only (transitEncryptionMode SERVER_AUTHENTICATION).",
  [TYPES.redisInstance],
  (props, args, report) => {
    if (props.authEnabled !== true) {
      report(`Redis instance "${args.name}" has authEnabled ${show(props.authEnabled)}: set it to true.`);
    }
    if (props.transitEncryptionMode !== "SERVER_AUTHENTICATION") {
      report(
        `Redis instance "${args.name}" has transitEncryptionMode ${show(props.transitEncryptionMode)}: ` +
          'set it to "SERVER_AUTHENTICATION" so clients connect over TLS.',
      );
    }
  },
);

export const gkePrivateNodes = resourcePolicy(
  "gke-private-nodes",
  "GKE nodes have internal IP addresses only (privateClusterConfig.enablePrivateNodes).",
  [TYPES.gkeCluster],
  (props, args, report) => {
    const privateNodes = valueAt(props, "privateClusterConfig.enablePrivateNodes");
    if (privateNodes !== true) {
      report(
        `GKE cluster "${args.name}" has privateClusterConfig.enablePrivateNodes ${show(privateNodes)}: set it to true.`,
      );
    }
  },
);

export const gkeWorkloadIdentity = resourcePolicy(
  "gke-workload-identity",
  "GKE clusters enable Workload Identity and node pools expose only the GKE metadata server to pods.",
  [TYPES.gkeCluster, TYPES.gkeNodePool],
  (props, args, report) => {
    if (args.type === TYPES.gkeCluster) {
      const pool = valueAt(props, "workloadIdentityConfig.workloadPool");
      if (!isNonEmptyString(pool)) {
        report(
          `GKE cluster "${args.name}" has workloadIdentityConfig.workloadPool ${show(pool)}: ` +
            'set it to "<project>.svc.id.goog" so pods use their own Google identity, not the node\'s.',
        );
      }
      return;
    }
    const mode = valueAt(props, "nodeConfig.workloadMetadataConfig.mode");
    if (mode !== "GKE_METADATA") {
      report(
        `GKE node pool "${args.name}" has nodeConfig.workloadMetadataConfig.mode ${show(mode)}: ` +
          'set it to "GKE_METADATA", otherwise pods can read the node service account\'s token.',
      );
    }
  },
);

export const gkeNodePoolAutoscaling = resourcePolicy(
  "gke-node-pool-autoscaling",
  "Every GKE node pool has autoscaling with a maximum node count (per zone or total) of at least 1 and at least the minimum.",
  [TYPES.gkeNodePool],
  (props, args, report) => {
    const autoscaling = props.autoscaling;
    const max = valueAt(autoscaling, "maxNodeCount") ?? valueAt(autoscaling, "totalMaxNodeCount");
    const min = valueAt(autoscaling, "minNodeCount") ?? valueAt(autoscaling, "totalMinNodeCount") ?? 0;
    if (!isPositiveInteger(max) || typeof min !== "number" || min > max) {
      report(
        `GKE node pool "${args.name}" has autoscaling ${show(autoscaling)}: set autoscaling.minNodeCount and ` +
          "autoscaling.maxNodeCount (or the total* forms) with 1 <= max and min <= max.",
      );
    }
  },
);

const DEFAULT_COMPUTE_SERVICE_ACCOUNT = /-compute@developer\.gserviceaccount\.com$/;

/** Where each workload type names the Google service account it runs as. */
const SERVICE_ACCOUNT_FIELDS: Readonly<Record<string, string>> = {
  [TYPES.cloudRunService]: "template.serviceAccount",
  [TYPES.gkeNodePool]: "nodeConfig.serviceAccount",
};

export const noDefaultComputeServiceAccount = resourcePolicy(
  "no-default-compute-service-account",
  "Cloud Run services and GKE nodes run as a dedicated service account, never the project's default compute account (Editor).",
  Object.keys(SERVICE_ACCOUNT_FIELDS),
  (props, args, report) => {
    const field = SERVICE_ACCOUNT_FIELDS[args.type];
    const account = valueAt(props, field);
    if (
      !isNonEmptyString(account) ||
      account === "default" ||
      DEFAULT_COMPUTE_SERVICE_ACCOUNT.test(account)
    ) {
      report(
        `"${args.name}" has ${field} ${show(account)}, which means the default compute service account: ` +
          "set it to a dedicated least-privilege service account.",
      );
    }
  },
);

const SENSITIVE_NAME_PARTS = new Set([
  "PASSWORD",
  "PASSWD",
  "SECRET",
  "TOKEN",
  "KEY",
  "APIKEY",
  "CREDENTIAL",
  "CREDENTIALS",
]);
/** `scheme://user:password@` (the user may be empty, as in `redis://:password@host`). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:[^\s/@]+@/i;

/** Why a plain (not secret-referenced) environment variable leaks a credential, if it does. */
export function plaintextSecretProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0) {
    return undefined;
  }
  if (URL_WITH_PASSWORD.test(value)) {
    return `env ${name} holds a URL with a password in plain text`;
  }
  if (
    name
      .toUpperCase()
      .split(/[^A-Z0-9]+/)
      .some((part) => SENSITIVE_NAME_PARTS.has(part))
  ) {
    return `env ${name} looks like a credential and has a plain value`;
  }
  return undefined;
}

/** Containers and the key of their env list, per workload type. */
const CONTAINER_LISTS: Readonly<
  Record<string, { readonly paths: readonly string[]; readonly envKey: string }>
> = {
  [TYPES.cloudRunService]: { paths: ["template.containers"], envKey: "envs" },
  ...Object.fromEntries(
    [TYPES.deployment, TYPES.statefulSet, TYPES.daemonSet, TYPES.job].map((type) => [
      type,
      { paths: ["spec.template.spec.containers", "spec.template.spec.initContainers"], envKey: "env" },
    ]),
  ),
};

export const noPlaintextSecretsInEnv = resourcePolicy(
  "no-plaintext-secrets-in-env",
  "Container environment variables never carry credentials as plain values; secrets come from Secret Manager or Kubernetes Secrets (valueSource / secretKeyRef).",
  Object.keys(CONTAINER_LISTS),
  (props, args, report) => {
    const { paths, envKey } = CONTAINER_LISTS[args.type];
    for (const container of paths.flatMap((path) => listAt(props, path))) {
      for (const env of listAt(container, envKey)) {
        const name = valueAt(env, "name");
        const problem = plaintextSecretProblem(typeof name === "string" ? name : "?", valueAt(env, "value"));
        if (problem) {
          report(
            `"${args.name}" container "${String(valueAt(container, "name"))}": ${problem}; ` +
              "store it in Secret Manager and reference it (Cloud Run valueSource.secretKeyRef, Kubernetes valueFrom.secretKeyRef).",
          );
        }
      }
    }
  },
);

/**
 * Labellable GCP types this project uses, and whether the GCP provider's `defaultLabels` reach
 * them (lib/resource-types.ts `labels`). The provider merges its default labels into the top-level
 * `labels`/`resourceLabels` of resources that have `effectiveLabels`/`pulumiLabels` outputs; Cloud
 * SQL's `settings.userLabels` and a node pool's `nodeConfig.resourceLabels` get nothing from it.
 * tests/policy checks this against @pulumi/gcp's type definitions for every type in the offline
 * plans, so a new labellable resource cannot slip past it.
 */
export const LABELLABLE_TYPES: Readonly<Record<string, { readonly providerDefaultLabels: boolean }>> =
  Object.fromEntries(
    Object.values(RESOURCE_TYPES).flatMap((entry) =>
      "labels" in entry
        ? [[entry.type, { providerDefaultLabels: entry.labels === "provider-defaults" }]]
        : [],
    ),
  );

const LABEL_FIELDS = ["labels", "resourceLabels", "effectiveLabels", "pulumiLabels", "settings.userLabels"];

/** Provider config arrives JSON-encoded (the SDK stringifies object-valued provider inputs). */
function providerDefaultLabels(args: ResourceValidationArgs): Props {
  if (args.provider?.type !== GCP_PROVIDER) {
    return {};
  }
  const raw: unknown = args.provider.props.defaultLabels;
  if (typeof raw !== "string") {
    return isRecord(raw) ? raw : {};
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The labels a resource ends up with: its own label fields plus, where they apply, the provider's defaults. */
export function effectiveLabels(args: ResourceValidationArgs): Props {
  const own = LABEL_FIELDS.map((field) => valueAt(args.props, field)).filter(isRecord);
  const defaults = LABELLABLE_TYPES[args.type]?.providerDefaultLabels ? [providerDefaultLabels(args)] : [];
  return Object.assign({}, ...defaults, ...own) as Props;
}

export const resourcesLabelled = resourcePolicy(
  "resources-labelled",
  `Every labellable GCP resource carries "${APP_LABEL}" (the project) and "${STACK_LABEL}" (the stack) labels, set on the resource or through the provider's defaultLabels where the provider applies them.`,
  Object.keys(LABELLABLE_TYPES),
  (_props, args, report) => {
    const { stack, project } = urnStackAndProject(args.urn);
    const labels = effectiveLabels(args);
    const expected: Record<string, string> = { [APP_LABEL]: project, [STACK_LABEL]: stack };
    const wrong = Object.entries(expected).filter(([key, value]) => labels[key] !== value);
    if (wrong.length > 0) {
      const where = LABELLABLE_TYPES[args.type].providerDefaultLabels
        ? "labels (or the gcp provider's defaultLabels)"
        : "its own labels (the provider's defaultLabels do not reach this field)";
      report(
        `"${args.name}" is missing ${wrong.map(([key, value]) => `${key}=${value}`).join(", ")} ` +
          `(has ${show(labels)}): set them in ${where}.`,
      );
    }
  },
);

interface Workload {
  readonly urn: string;
  readonly description: string;
  readonly capacity: number;
}

type Measured = Workload | { readonly urn: string; readonly problem: string };

function cloudRunCapacity(service: PolicyResource): Measured {
  const maxInstances = valueAt(service.props, "template.scaling.maxInstanceCount");
  const concurrency = valueAt(service.props, "template.maxInstanceRequestConcurrency");
  if (!isPositiveInteger(maxInstances) || !isPositiveInteger(concurrency)) {
    return {
      urn: service.urn,
      problem:
        `Cloud Run service "${service.name}" must set template.scaling.maxInstanceCount (${show(maxInstances)}) and ` +
        `template.maxInstanceRequestConcurrency (${show(concurrency)}) to positive integers`,
    };
  }
  return {
    urn: service.urn,
    description: `Cloud Run "${service.name}" ${maxInstances} instances x ${concurrency} concurrent requests`,
    capacity: maxInstances * concurrency,
  };
}

/** The Deployment an HPA scales: by name and namespace, else its only Deployment dependency. */
function scaledDeployment(
  hpa: PolicyResource,
  resources: readonly PolicyResource[],
): PolicyResource | undefined {
  const target = valueAt(hpa.props, "spec.scaleTargetRef");
  if (valueAt(target, "kind") !== "Deployment") {
    return undefined;
  }
  const namespace = (resource: PolicyResource): unknown =>
    valueAt(resource.props, "metadata.namespace") ?? "default";
  const byName = resources.filter(
    (resource) =>
      resource.type === TYPES.deployment &&
      valueAt(resource.props, "metadata.name") === valueAt(target, "name") &&
      namespace(resource) === namespace(hpa),
  );
  if (byName.length === 1) {
    return byName[0];
  }
  const dependencies = hpa.dependencies.filter((resource) => resource.type === TYPES.deployment);
  return dependencies.length === 1 ? dependencies[0] : undefined;
}

function maxInFlightOf(deployment: PolicyResource): unknown {
  return listAt(deployment.props, "spec.template.spec.containers")
    .flatMap((container) => listAt(container, "env"))
    .find((env) => valueAt(env, "name") === "MAX_IN_FLIGHT");
}

function gkeCapacity(hpa: PolicyResource, resources: readonly PolicyResource[]): Measured {
  const maxReplicas = valueAt(hpa.props, "spec.maxReplicas");
  const deployment = scaledDeployment(hpa, resources);
  if (!deployment) {
    return {
      urn: hpa.urn,
      problem: `HorizontalPodAutoscaler "${hpa.name}" scales no Deployment of this stack`,
    };
  }
  const maxInFlightValue = valueAt(maxInFlightOf(deployment), "value");
  const maxInFlight = typeof maxInFlightValue === "string" ? Number(maxInFlightValue) : maxInFlightValue;
  if (!isPositiveInteger(maxReplicas) || !isPositiveInteger(maxInFlight)) {
    return {
      urn: hpa.urn,
      problem:
        `HorizontalPodAutoscaler "${hpa.name}" spec.maxReplicas (${show(maxReplicas)}) and Deployment ` +
        `"${deployment.name}" env MAX_IN_FLIGHT (${show(maxInFlightValue)}) must both be positive integers`,
    };
  }
  return {
    urn: hpa.urn,
    description: `GKE "${deployment.name}" ${maxReplicas} replicas x MAX_IN_FLIGHT ${maxInFlight}`,
    capacity: maxReplicas * maxInFlight,
  };
}

export const capacityCoversTarget: StackValidationPolicy = {
  name: CAPACITY_POLICY,
  description:
    "The serving workloads can hold the stack's targetConcurrentRequests: Cloud Run maxInstanceCount x " +
    "maxInstanceRequestConcurrency, or GKE HPA maxReplicas x the pod's MAX_IN_FLIGHT, summed over workloads.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      targetConcurrentRequests: {
        type: "integer",
        minimum: 1,
        description:
          "The stack's items-api:targetConcurrentRequests (CI writes it from Pulumi.<stack>.yaml).",
      },
    },
    required: ["targetConcurrentRequests"],
  },
  validateStack: (args, report) => {
    const { targetConcurrentRequests: target } = args.getConfig<Partial<CapacityPolicyConfig>>();
    if (!isPositiveInteger(target)) {
      report(
        `${CAPACITY_POLICY} needs policy config targetConcurrentRequests (got ${show(target)}): pass ` +
          "--policy-pack-config with the file `npx tsx policy/stack-policy-config.ts <stack>` writes.",
      );
      return;
    }
    const measured = [
      ...args.resources.filter((r) => r.type === TYPES.cloudRunService).map(cloudRunCapacity),
      ...args.resources
        .filter((r) => r.type === TYPES.horizontalPodAutoscaler)
        .map((hpa) => gkeCapacity(hpa, args.resources)),
    ];
    for (const item of measured) {
      if ("problem" in item) {
        report(`${item.problem}; the stack's capacity cannot be shown to reach ${target}.`, item.urn);
      }
    }
    const workloads = measured.filter((item): item is Workload => "capacity" in item);
    if (measured.length === 0) {
      report(
        `The stack has no Cloud Run service and no HorizontalPodAutoscaler, so nothing is sized for ${target} concurrent requests.`,
      );
      return;
    }
    const total = workloads.reduce((sum, workload) => sum + workload.capacity, 0);
    if (workloads.length === measured.length && total < target) {
      report(
        `Capacity ${total} < targetConcurrentRequests ${target} (${workloads.map((w) => `${w.description} = ${w.capacity}`).join("; ")}): ` +
          "raise cloudrun.maxInstances / cloudrun.concurrency or gke.maxReplicas / app.maxInFlight.",
      );
    }
  },
};

/** Zones GKE spreads a node pool over: its nodeLocations, else three for a region, one for a zone. */
function nodePoolZones(pool: Props): number {
  const nodeLocations = listAt(pool, "nodeLocations");
  if (nodeLocations.length > 0) return nodeLocations.length;
  return /-[a-z]$/.test(String(pool.location)) ? 1 : 3;
}

/** The region of a location: `europe-west1-b` → `europe-west1`. */
const regionOf = (location: unknown): string => String(location).replace(/-[a-z]$/, "");

type MutableNeeds = { -readonly [K in keyof QuotaNeeds]: QuotaNeeds[K] };

const GRANT_KEYS = ["cpus", "ssdTotalGb", "cloudRunInstances", "directVpcEgressInstances"] as const;

export const quotasCoverNeed: StackValidationPolicy = {
  name: QUOTA_POLICY,
  description:
    "The project's granted quotas (policy config, from items-api:quotas) cover what the registered GKE node pools " +
    "(CPUS, SSD_TOTAL_GB at maxNodeCount) and Cloud Run services (instances at maxInstanceCount) need, per region.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: Object.fromEntries(
      GRANT_KEYS.map((key) => [
        key,
        { type: "integer", minimum: 1, description: `The stack's items-api:quotas.${key}.` },
      ]),
    ),
    required: [...GRANT_KEYS],
  },
  validateStack: (args, report) => {
    const grants = args.getConfig<Partial<QuotaPolicyConfig>>();
    const missing = GRANT_KEYS.filter((key) => !isPositiveInteger(grants[key]));
    if (missing.length > 0) {
      report(
        `${QUOTA_POLICY} needs policy config ${missing.join(", ")}: pass --policy-pack-config with the file ` +
          "`npx tsx policy/stack-policy-config.ts <stack>` writes.",
      );
      return;
    }
    const needs = new Map<string, MutableNeeds>();
    const needsOf = (region: string) => {
      const found = needs.get(region);
      if (found) return found;
      const created: MutableNeeds = {};
      needs.set(region, created);
      return created;
    };
    for (const pool of args.resources.filter((r) => r.type === TYPES.gkeNodePool)) {
      const perZone = valueAt(pool.props, "autoscaling.maxNodeCount");
      const total = valueAt(pool.props, "autoscaling.totalMaxNodeCount");
      const machineType = valueAt(pool.props, "nodeConfig.machineType");
      const diskSizeGb = valueAt(pool.props, "nodeConfig.diskSizeGb");
      const nodes = isPositiveInteger(total)
        ? total
        : isPositiveInteger(perZone)
          ? perZone * nodePoolZones(pool.props)
          : 0;
      if (nodes === 0 || typeof machineType !== "string" || !isPositiveInteger(diskSizeGb)) {
        report(
          `GKE node pool "${pool.name}" must set autoscaling.maxNodeCount, nodeConfig.machineType and nodeConfig.diskSizeGb ` +
            "so its quota need can be shown",
          pool.urn,
        );
        continue;
      }
      const region = needsOf(regionOf(pool.props.location));
      const gke = region.gke ?? { vcpus: 0, ssdGb: 0 };
      region.gke = {
        vcpus: gke.vcpus + nodes * machineVcpus(machineType),
        ssdGb: gke.ssdGb + nodes * diskSizeGb,
      };
    }
    for (const service of args.resources.filter((r) => r.type === TYPES.cloudRunService)) {
      const maxInstances = valueAt(service.props, "template.scaling.maxInstanceCount");
      // capacity-covers-target reports a service without a maximum.
      if (!isPositiveInteger(maxInstances)) continue;
      const region = needsOf(regionOf(service.props.location));
      // Each service scales on its own: the largest one meets the per-service and per-revision limits.
      region.cloudrun = { maxInstances: Math.max(region.cloudrun?.maxInstances ?? 0, maxInstances) };
    }
    for (const [region, need] of needs) {
      for (const row of rowsForNeeds(region, need, grants as QuotaGrants)) {
        if (!row.ok) report(quotaShortfall(row));
      }
    }
  },
};

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  cloudSqlNoPublicIp,
  cloudSqlSslRequired,
  cloudSqlBackupsAndPitr,
  prodDeletionProtection,
  prodDataProtected,
  redisAuthAndTls,
  gkePrivateNodes,
  gkeWorkloadIdentity,
  gkeNodePoolAutoscaling,
  noDefaultComputeServiceAccount,
  noPlaintextSecretsInEnv,
  resourcesLabelled,
  capacityCoversTarget,
  quotasCoverNeed,
];

// ---------------------------------------------------------------------------------------------
// Edge (components/edge): the load balancer in front of both platforms. Appended to `policies`.
// ---------------------------------------------------------------------------------------------

export const EDGE_TYPES = {
  backendService: "gcp:compute/backendService:BackendService",
  urlMap: "gcp:compute/uRLMap:URLMap",
  targetHttpProxy: "gcp:compute/targetHttpProxy:TargetHttpProxy",
  targetHttpsProxy: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
} as const;

/** Schemes of backend services that face the internet through an external Application Load Balancer. */
const EXTERNAL_SCHEMES = ["EXTERNAL", "EXTERNAL_MANAGED"];

export const prodEdgeSecurityPolicy = resourcePolicy(
  "prod-edge-security-policy",
  `In the ${PROTECTED_STACKS.join(", ")} stack, every external backend service carries a Cloud Armor security policy.`,
  [EDGE_TYPES.backendService],
  (props, args, report) => {
    const { stack } = urnStackAndProject(args.urn);
    if (!PROTECTED_STACKS.includes(stack) || !EXTERNAL_SCHEMES.includes(String(props.loadBalancingScheme))) {
      return;
    }
    if (!isNonEmptyString(props.securityPolicy)) {
      report(
        `Backend service "${args.name}" in stack "${stack}" has securityPolicy ${show(props.securityPolicy)}: ` +
          "attach the edge's Cloud Armor policy (components/edge/security-policy.ts) so rate limits and WAF rules apply.",
      );
    }
  },
);

/** A URL map that answers every request with a redirect to HTTPS and routes nothing to a backend. */
function redirectsOnlyToHttps(urlMap: Props): boolean {
  return (
    valueAt(urlMap, "defaultUrlRedirect.httpsRedirect") === true &&
    urlMap.defaultService === undefined &&
    urlMap.defaultRouteAction === undefined &&
    listAt(urlMap, "pathMatchers").length === 0
  );
}

const hasCertificate = (proxy: Props): boolean =>
  listAt(proxy, "sslCertificates").length > 0 ||
  listAt(proxy, "certificateManagerCertificates").length > 0 ||
  isNonEmptyString(proxy.certificateMap);

export const prodEdgeHttpsOnly: StackValidationPolicy = {
  name: "prod-edge-https-only",
  description:
    `In the ${PROTECTED_STACKS.join(", ")} stack the API is served over HTTPS (a domain with a certificate), ` +
    "and plain HTTP only redirects to it.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const [first] = args.resources;
    if (first === undefined || !PROTECTED_STACKS.includes(urnStackAndProject(first.urn).stack)) {
      return;
    }
    const httpsProxies = args.resources.filter((r) => r.type === EDGE_TYPES.targetHttpsProxy);
    if (!httpsProxies.some((proxy) => hasCertificate(proxy.props))) {
      report(
        "No HTTPS proxy with a certificate: set the stack's edge.domain so the edge serves HTTPS with a " +
          "Google-managed certificate (without it the API is plain HTTP on a bare IP).",
      );
    }
    for (const proxy of args.resources.filter((r) => r.type === EDGE_TYPES.targetHttpProxy)) {
      const urlMaps = proxy.dependencies.filter((dependency) => dependency.type === EDGE_TYPES.urlMap);
      if (urlMaps.length === 0 || !urlMaps.every((urlMap) => redirectsOnlyToHttps(urlMap.props))) {
        report(
          `HTTP proxy "${proxy.name}" serves requests over plain HTTP: its URL map must only redirect to HTTPS ` +
            "(defaultUrlRedirect.httpsRedirect, no backend).",
          proxy.urn,
        );
      }
    }
  },
};

export const EDGE_POLICIES = [prodEdgeSecurityPolicy, prodEdgeHttpsOnly];
policies.push(...EDGE_POLICIES);
