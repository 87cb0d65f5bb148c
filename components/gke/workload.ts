import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import {
  apiEnvironment,
  shutdownTiming,
  type ApiEnvironment,
  type AppSecrets,
  type AppSettings,
} from "../workload/api-environment";
import { createApiServiceAccount } from "../workload/api-service-account";
import type { SecretRef } from "../data/stored-secret";
import type { StackConfig } from "../../config";

/** The stack's `gke` settings, validated and defaulted by config.ts. */
export type GkeWorkloadSettings = Pick<
  StackConfig["gke"],
  | "minReplicas"
  | "maxReplicas"
  | "rolloutMaxSurge"
  | "cpuTargetPercent"
  | "hpaMetric"
  | "targetRpsPerPod"
  | "namespace"
  | "preStopSleepSeconds"
>;

export interface GkeWorkloadArgs {
  /** GCP project id. */
  readonly project: string;
  /** The stack's `app` settings (resources and the API's environment). */
  readonly app: AppSettings;
  /** Replicas, autoscaling, rollout, namespace and shutdown. */
  readonly settings: GkeWorkloadSettings;
  /** Kubernetes provider of the cluster (GkeCluster.provider). */
  readonly provider: k8s.Provider;
  /** `<project>.svc.id.goog` from the cluster, so the binding waits for the pool. */
  readonly workloadPool: pulumi.Input<string>;
  /** Image reference, by digest. */
  readonly imageRef: pulumi.Input<string>;
  /** The app's secrets. */
  readonly secrets: AppSecrets<SecretRef>;
  /** Enabled APIs the service account waits for (iam). */
  readonly apis: readonly pulumi.Resource[];
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

/** Time between the end of the grace period and SIGKILL left for the process to exit. */
const EXIT_MARGIN_SECONDS = 5;

export interface ShutdownSeconds {
  /** preStop + drain + grace + exit margin: SIGKILL never cuts a drain short. */
  readonly terminationGracePeriodSeconds: number;
  /** How long the load balancer lets requests on a removed endpoint finish: as long as the pod serves. */
  readonly connectionDrainingSeconds: number;
}

/** Port of the ClusterIP Service; the NEG annotation names it. */
const SERVICE_PORT = 80;

/** The pod's grace period and the load balancer's draining time, from preStop and the app's shutdown. */
export function shutdownSeconds(preStopSleepSeconds: number, app: AppSettings): ShutdownSeconds {
  const shutdown = shutdownTiming("gke", app.shutdownGraceMs);
  const servingAfterPreStop = Math.ceil((shutdown.drainMs + shutdown.graceMs) / 1000);
  return {
    terminationGracePeriodSeconds: preStopSleepSeconds + servingAfterPreStop + EXIT_MARGIN_SECONDS,
    connectionDrainingSeconds: preStopSleepSeconds + servingAfterPreStop,
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
    super("items-api:gcp:GkeWorkload", name, {}, opts);
    const { settings, app } = args;
    const shutdown = shutdownSeconds(settings.preStopSleepSeconds, app);
    const env: ApiEnvironment<SecretRef> = apiEnvironment({
      platform: "gke",
      project: args.project,
      app: args.app,
      secrets: args.secrets,
    });
    const k8sOpts = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/name": "items-api", "app.kubernetes.io/instance": name };

    const apis = [...args.apis];
    const identity = createApiServiceAccount(
      name,
      { project: args.project, secretEnv: env.secret, apis },
      this,
    );
    const namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: settings.namespace, labels } },
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
          // A fixed surge, never a percentage: at peak a rollout needs maxReplicas + maxSurge pods, and
          // the node pool's maximum is sized for that, not for 25% more.
          strategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxUnavailable: 0, maxSurge: settings.rolloutMaxSurge },
          },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: kubernetesServiceAccount.metadata.name,
              terminationGracePeriodSeconds: shutdown.terminationGracePeriodSeconds,
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
                    requests: { cpu: app.cpu, memory: app.memory },
                    limits: { cpu: app.cpu, memory: app.memory },
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
                  lifecycle: { preStop: { sleep: { seconds: settings.preStopSleepSeconds } } },
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
          minReplicas: settings.minReplicas,
          maxReplicas: settings.maxReplicas,
          metrics: hpaMetricSpecs(settings),
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
    this.connectionDrainingSeconds = shutdown.connectionDrainingSeconds;
    this.namespace = ns;
    this.serviceAccountEmail = identity.account.email;
    this.registerOutputs({
      namespace: this.namespace,
      serviceAccountEmail: this.serviceAccountEmail,
    });
  }
}
