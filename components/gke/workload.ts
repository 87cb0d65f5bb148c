import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import {
  apiEnvironment,
  parseCpuCores,
  parseMemoryMiB,
  shutdownTiming,
  type ApiEnvironment,
  type AppSecrets,
  type AppSettings,
} from "../workload/api-environment";
import { createApiServiceAccount } from "../workload/api-service-account";
import type { SecretRef } from "../data/stored-secret";

/** Plain settings of the workload; checked by `resolveGkeWorkloadArgs` before anything is created. */
export interface GkeWorkloadSettings {
  /** GCP project id (required). */
  readonly project: string;
  /** App settings from the stack's `app` key (required). */
  readonly app: AppSettings;
  /** HPA minimum replicas; default 3. */
  readonly minReplicas?: number;
  /** HPA maximum replicas; default 50. */
  readonly maxReplicas?: number;
  /** HPA target average CPU utilisation in percent of the request; default 60. */
  readonly cpuTargetPercent?: number;
  /** What the HPA scales on: CPU utilisation, or requests per second per pod (needs MetricsAdapter); default "cpu". */
  readonly hpaMetric?: HpaMetric;
  /** Target requests per second per pod when `hpaMetric` is "rps"; default 200. */
  readonly targetRpsPerPod?: number;
  /** Kubernetes namespace (fixed name: the Workload Identity member names it); default "api". */
  readonly namespace?: string;
  /** preStop sleep while the load balancer stops sending to a terminating pod; default 15 s. */
  readonly preStopSleepSeconds?: number;
}

export interface GkeWorkloadArgs extends GkeWorkloadSettings {
  /** Kubernetes provider of the cluster (GkeCluster.provider) (required). */
  readonly provider: k8s.Provider;
  /** `<project>.svc.id.goog` from the cluster, so the binding waits for the pool (required). */
  readonly workloadPool: pulumi.Input<string>;
  /** Image reference, ideally by digest (required). */
  readonly imageRef: pulumi.Input<string>;
  /** The app's secrets (required). */
  readonly secrets: AppSecrets<SecretRef>;
  /** Enabled APIs the service account waits for (iam); default none. */
  readonly apis?: readonly pulumi.Resource[];
}

export type HpaMetric = "cpu" | "rps";

/** The app's request counter as Managed Prometheus exports it, named the Custom Metrics adapter's way. */
export const RPS_METRIC_NAME = "prometheus.googleapis.com|http_requests_total|counter";

export type HpaMetricSpec = k8s.types.input.autoscaling.v2.MetricSpec;

/**
 * The HPA's metric: CPU utilisation of the request, or the per-pod rate of the request counter (the
 * adapter turns a cumulative counter into a per-second rate).
 */
export function hpaMetricSpecs(settings: {
  readonly hpaMetric: HpaMetric;
  readonly cpuTargetPercent: number;
  readonly targetRpsPerPod: number;
}): HpaMetricSpec[] {
  if (settings.hpaMetric === "rps") {
    return [
      {
        type: "Pods",
        pods: {
          metric: { name: RPS_METRIC_NAME },
          target: { type: "AverageValue", averageValue: String(settings.targetRpsPerPod) },
        },
      },
    ];
  }
  return [
    {
      type: "Resource",
      resource: {
        name: "cpu",
        target: { type: "Utilization", averageUtilization: settings.cpuTargetPercent },
      },
    },
  ];
}

export interface ResolvedGkeWorkloadSettings {
  readonly hpaMetric: HpaMetric;
  readonly targetRpsPerPod: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuTargetPercent: number;
  readonly namespace: string;
  readonly preStopSleepSeconds: number;
  /** preStop + drain + grace + exit margin: SIGKILL never cuts a drain short. */
  readonly terminationGracePeriodSeconds: number;
  /** How long the load balancer lets requests on a removed endpoint finish: as long as the pod serves. */
  readonly connectionDrainingSeconds: number;
  readonly cpu: string;
  readonly memory: string;
}

/** Port of the ClusterIP Service; the NEG annotation names it. */
const SERVICE_PORT = 80;
/** Time between the end of the grace period and SIGKILL left for the process to exit. */
const EXIT_MARGIN_SECONDS = 5;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function requireInteger(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new Error(`\`${field}\` must be an integer ${range}, got ${value}`);
  }
  return value;
}

export function resolveGkeWorkloadArgs(settings: GkeWorkloadSettings): ResolvedGkeWorkloadSettings {
  const minReplicas = requireInteger("minReplicas", settings.minReplicas ?? 3, 1);
  const maxReplicas = requireInteger("maxReplicas", settings.maxReplicas ?? 50, minReplicas);
  const cpuTargetPercent = requireInteger("cpuTargetPercent", settings.cpuTargetPercent ?? 60, 1, 100);
  const hpaMetric = settings.hpaMetric ?? "cpu";
  if (hpaMetric !== "cpu" && hpaMetric !== "rps") {
    throw new Error(`\`hpaMetric\` must be "cpu" or "rps", got "${String(hpaMetric)}"`);
  }
  const targetRpsPerPod = requireInteger("targetRpsPerPod", settings.targetRpsPerPod ?? 200, 1);
  const preStopSleepSeconds = requireInteger(
    "preStopSleepSeconds",
    settings.preStopSleepSeconds ?? 15,
    1,
    60,
  );
  const namespace = settings.namespace ?? "api";
  if (!DNS_LABEL.test(namespace)) {
    throw new Error(
      `\`namespace\` must be a DNS label (lower-case letters, digits, '-'), got "${namespace}"`,
    );
  }
  parseCpuCores(settings.app.cpu);
  parseMemoryMiB(settings.app.memory);
  const shutdown = shutdownTiming("gke", settings.app.shutdownGraceMs);
  const servingAfterPreStop = Math.ceil((shutdown.drainMs + shutdown.graceMs) / 1000);
  return {
    hpaMetric,
    targetRpsPerPod,
    minReplicas,
    maxReplicas,
    cpuTargetPercent,
    namespace,
    preStopSleepSeconds,
    terminationGracePeriodSeconds: preStopSleepSeconds + servingAfterPreStop + EXIT_MARGIN_SECONDS,
    connectionDrainingSeconds: preStopSleepSeconds + servingAfterPreStop,
    cpu: settings.app.cpu,
    memory: settings.app.memory,
  };
}

/**
 * The API on GKE: Deployment + HPA + PDB, and a Service whose standalone zonal NEGs the edge's
 * backend service (components/edge) sends traffic to, pod by pod.
 */
export class GkeWorkload extends pulumi.ComponentResource {
  /** The Service the NEG controller creates the NEGs from; NEG lookups must wait for it. */
  public readonly service: k8s.core.v1.Service;
  /** Name of the zonal NEGs (one per zone with nodes). */
  public readonly negName: string;
  /** Port of the NEG endpoints: the container's. */
  public readonly servingPort: number;
  /** How long the load balancer lets requests on a removed endpoint finish: as long as the pod serves. */
  public readonly connectionDrainingSeconds: number;
  public readonly namespace: pulumi.Output<string>;
  public readonly serviceAccountEmail: pulumi.Output<string>;

  constructor(name: string, args: GkeWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gcp-async-api:gcp:GkeWorkload", name, {}, opts);
    const resolved = resolveGkeWorkloadArgs(args);
    const env: ApiEnvironment<SecretRef> = apiEnvironment({
      platform: "gke",
      project: args.project,
      app: args.app,
      secrets: args.secrets,
    });
    const k8sOpts = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/name": "gcp-async-api", "app.kubernetes.io/instance": name };

    const apis = [...(args.apis ?? [])];
    const identity = createApiServiceAccount(
      name,
      { project: args.project, secretEnv: env.secret, apis },
      this,
    );
    const namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: resolved.namespace, labels } },
      k8sOpts,
    );
    const ns = namespace.metadata.name;
    const kubernetesServiceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-ksa`,
      {
        metadata: {
          namespace: ns,
          labels,
          annotations: { "iam.gke.io/gcp-service-account": identity.account.email },
        },
      },
      k8sOpts,
    );
    const workloadIdentityBinding = new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: identity.account.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`serviceAccount:${args.workloadPool}[${ns}/${kubernetesServiceAccount.metadata.name}]`,
      },
      { parent: this },
    );

    // Environment variables need their values when the pod starts, so the secret values are copied
    // into a Kubernetes Secret (they stay Pulumi secrets in state). The Google service account can
    // still read Secret Manager directly, for a future Secret Manager CSI mount. The Secret is
    // auto-named: a changed value replaces it under a new name, which rolls the Deployment.
    const envSecret = new k8s.core.v1.Secret(
      `${name}-env`,
      {
        metadata: { namespace: ns, labels },
        type: "Opaque",
        stringData: Object.fromEntries(
          env.secret.map(({ name: envName, secret }) => [envName, secret.value]),
        ),
      },
      k8sOpts,
    );

    const deployment = new k8s.apps.v1.Deployment(
      `${name}-api`,
      {
        metadata: { namespace: ns, labels },
        spec: {
          // No `replicas`: the HPA owns the count, and Pulumi must not reset it on every update.
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: kubernetesServiceAccount.metadata.name,
              terminationGracePeriodSeconds: resolved.terminationGracePeriodSeconds,
              // The image declares a numeric non-root USER (distroless 65532), which runAsNonRoot verifies.
              securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
              // Zones are a hard rule (a zone outage must leave replicas elsewhere); nodes a preference,
              // so a small node pool never blocks scheduling. pod-template-hash keeps a rollout's spread
              // from being computed against the outgoing ReplicaSet.
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: "topology.kubernetes.io/zone",
                  whenUnsatisfiable: "DoNotSchedule",
                  labelSelector: { matchLabels: labels },
                  matchLabelKeys: ["pod-template-hash"],
                },
                {
                  maxSkew: 1,
                  topologyKey: "kubernetes.io/hostname",
                  whenUnsatisfiable: "ScheduleAnyway",
                  labelSelector: { matchLabels: labels },
                  matchLabelKeys: ["pod-template-hash"],
                },
              ],
              volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
              containers: [
                {
                  // One Node.js process per pod: the HPA, not a cluster module, adds cores.
                  name: "api",
                  image: args.imageRef,
                  ports: [{ name: "http", containerPort: env.containerPort, protocol: "TCP" }],
                  env: [
                    ...env.plain.map(({ name: envName, value }) => ({ name: envName, value })),
                    ...env.secret.map(({ name: envName }) => ({
                      name: envName,
                      valueFrom: { secretKeyRef: { name: envSecret.metadata.name, key: envName } },
                    })),
                  ],
                  resources: {
                    requests: { cpu: resolved.cpu, memory: resolved.memory },
                    limits: { cpu: resolved.cpu, memory: resolved.memory },
                  },
                  startupProbe: {
                    httpGet: { path: "/healthz", port: "http" },
                    periodSeconds: 2,
                    timeoutSeconds: 2,
                    failureThreshold: 30,
                  },
                  readinessProbe: {
                    httpGet: { path: "/readyz", port: "http" },
                    periodSeconds: 5,
                    timeoutSeconds: 2,
                    failureThreshold: 2,
                  },
                  livenessProbe: {
                    httpGet: { path: "/healthz", port: "http" },
                    periodSeconds: 10,
                    timeoutSeconds: 3,
                    failureThreshold: 3,
                  },
                  // Before SIGTERM: keep serving while endpoints and the NEG drop this pod.
                  lifecycle: { preStop: { sleep: { seconds: resolved.preStopSleepSeconds } } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                },
              ],
            },
          },
        },
      },
      { ...k8sOpts, dependsOn: [workloadIdentityBinding, ...identity.grants] },
    );

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-hpa`,
      {
        metadata: { namespace: ns, labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
          minReplicas: resolved.minReplicas,
          maxReplicas: resolved.maxReplicas,
          metrics: hpaMetricSpecs(resolved),
        },
      },
      k8sOpts,
    );
    // Google Managed Prometheus scrapes the pods: dashboards, SLOs and the rps HPA read these series.
    new k8s.apiextensions.CustomResource(
      `${name}-metrics`,
      {
        apiVersion: "monitoring.googleapis.com/v1",
        kind: "PodMonitoring",
        metadata: { namespace: ns, labels },
        spec: {
          selector: { matchLabels: labels },
          endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
        },
      },
      k8sOpts,
    );
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { namespace: ns, labels },
        spec: { maxUnavailable: "10%", selector: { matchLabels: labels } },
      },
      k8sOpts,
    );

    // Standalone NEGs with a fixed name, so the edge's backend service can find them in every zone.
    const negName = `${name}-neg`;
    const service = new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: {
          namespace: ns,
          labels,
          annotations: {
            // Container-native load balancing: the edge targets pod IPs through these NEGs, not node ports.
            "cloud.google.com/neg": JSON.stringify({ exposed_ports: { [SERVICE_PORT]: { name: negName } } }),
          },
        },
        spec: {
          type: "ClusterIP",
          selector: labels,
          ports: [{ name: "http", port: SERVICE_PORT, targetPort: "http", protocol: "TCP" }],
        },
      },
      k8sOpts,
    );

    this.service = service;
    this.negName = negName;
    this.servingPort = env.containerPort;
    this.connectionDrainingSeconds = resolved.connectionDrainingSeconds;
    this.namespace = ns;
    this.serviceAccountEmail = identity.account.email;
    this.registerOutputs({
      namespace: this.namespace,
      serviceAccountEmail: this.serviceAccountEmail,
    });
  }
}
