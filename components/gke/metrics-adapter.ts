import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface MetricsAdapterArgs {
  /** GCP project id (required). */
  readonly project: string;
  /** Kubernetes provider of the cluster (GkeCluster.provider) (required). */
  readonly provider: k8s.Provider;
  /** `<project>.svc.id.goog` from the cluster, so the binding waits for the pool (required). */
  readonly workloadPool: pulumi.Input<string>;
  /** Enabled APIs the service account waits for (iam, monitoring). */
  readonly apis: readonly pulumi.Resource[];
}

/**
 * Image, memory and readiness probe of Google's current manifest: GoogleCloudPlatform/k8s-stackdriver,
 * custom-metrics-stackdriver-adapter/deploy/production/adapter_new_resource_model.yaml at commit
 * af49d863755c0535f598cfde9288ae9a75251d38 (2026-08-17, "update ... image to v0.16.9-gke.0").
 * Raise them together from that file.
 */
const ADAPTER_IMAGE = "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.9-gke.0";
const ADAPTER_RESOURCES = { cpu: "250m", memory: "200Mi" };

// Fixed names: the Workload Identity member, the APIServices and the RBAC subjects all name them.
const NAMESPACE = "custom-metrics";
const ACCOUNT = "custom-metrics-stackdriver-adapter";
/**
 * The port the adapter serves on. Google's manifest keeps the default 443, which needs
 * CAP_NET_BIND_SERVICE wherever unprivileged ports start at 1024; we drop every capability, so the
 * adapter binds above 1024 (`--secure-port`, k8s.io/apiserver's SecureServingOptions) and the
 * Service keeps 443 for the APIServices.
 */
const SERVING_PORT = 8443;
const SERVICE_PORT = 443;

/** The three metric APIs the adapter serves; the HPA reads `custom.metrics.k8s.io` for Pods metrics. */
const API_SERVICES = [
  { group: "custom.metrics.k8s.io", version: "v1beta1", versionPriority: 100 },
  { group: "custom.metrics.k8s.io", version: "v1beta2", versionPriority: 200 },
  { group: "external.metrics.k8s.io", version: "v1beta1", versionPriority: 100 },
] as const;

/**
 * Custom Metrics - Stackdriver Adapter, as code instead of Google's manifest: serves Cloud Monitoring
 * series (Managed Prometheus included) to the HPA. It reads Cloud Monitoring as its own Google
 * service account (monitoring.viewer only) through Workload Identity.
 */
export class MetricsAdapter extends pulumi.ComponentResource {
  public readonly serviceAccountEmail: pulumi.Output<string>;

  constructor(name: string, args: MetricsAdapterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:MetricsAdapter", name, {}, opts);
    const k8sOpts = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/name": ACCOUNT, "app.kubernetes.io/instance": name };
    const subject = { kind: "ServiceAccount", name: ACCOUNT, namespace: NAMESPACE };
    const rbac = "rbac.authorization.k8s.io";

    const account = new gcp.serviceaccount.Account(
      `${name}-gsa`,
      { project: args.project, accountId: "custom-metrics-adapter", displayName: "Custom Metrics adapter" },
      { parent: this, dependsOn: [...args.apis] },
    );
    const viewer = new gcp.projects.IAMMember(
      `${name}-monitoring-viewer`,
      { project: args.project, role: "roles/monitoring.viewer", member: account.member },
      { parent: this },
    );
    const workloadIdentity = new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: account.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`serviceAccount:${args.workloadPool}[${NAMESPACE}/${ACCOUNT}]`,
      },
      { parent: this },
    );

    const namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      { metadata: { name: NAMESPACE, labels } },
      k8sOpts,
    );
    const inNamespace = { ...k8sOpts, dependsOn: [namespace] };
    new k8s.core.v1.ServiceAccount(
      `${name}-ksa`,
      {
        metadata: {
          name: ACCOUNT,
          namespace: NAMESPACE,
          labels,
          annotations: { "iam.gke.io/gcp-service-account": account.email },
        },
      },
      inNamespace,
    );

    // The adapter is an aggregated API server: it delegates authn/authz to the kube-apiserver.
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-auth-delegator`,
      {
        metadata: { name: "custom-metrics:system:auth-delegator", labels },
        roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "system:auth-delegator" },
        subjects: [subject],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-auth-reader`,
      {
        metadata: { name: "custom-metrics-auth-reader", namespace: "kube-system", labels },
        roleRef: { apiGroup: rbac, kind: "Role", name: "extension-apiserver-authentication-reader" },
        subjects: [subject],
      },
      k8sOpts,
    );
    const resourceReader = new k8s.rbac.v1.ClusterRole(
      `${name}-resource-reader`,
      {
        metadata: { name: "custom-metrics-resource-reader", labels },
        rules: [
          { apiGroups: [""], resources: ["pods", "nodes", "nodes/stats"], verbs: ["get", "list", "watch"] },
        ],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-resource-reader`,
      {
        metadata: { name: "custom-metrics-resource-reader", labels },
        roleRef: { apiGroup: rbac, kind: "ClusterRole", name: resourceReader.metadata.name },
        subjects: [subject],
      },
      k8sOpts,
    );
    // The HPA controller may read external metrics (the custom ones are open to it by default).
    const externalReader = new k8s.rbac.v1.ClusterRole(
      `${name}-external-reader`,
      {
        metadata: { name: "external-metrics-reader", labels },
        rules: [
          { apiGroups: ["external.metrics.k8s.io"], resources: ["*"], verbs: ["list", "get", "watch"] },
        ],
      },
      k8sOpts,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-external-reader`,
      {
        metadata: { name: "external-metrics-reader", labels },
        roleRef: { apiGroup: rbac, kind: "ClusterRole", name: externalReader.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: "horizontal-pod-autoscaler", namespace: "kube-system" }],
      },
      k8sOpts,
    );

    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: ACCOUNT, namespace: NAMESPACE, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: ACCOUNT,
              // No runAsNonRoot or read-only root: the image's user is Google's choice, and the
              // adapter writes its self-signed serving certificate under its working directory.
              securityContext: { seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "adapter",
                  image: ADAPTER_IMAGE,
                  command: [
                    "/adapter",
                    "--use-new-resource-model=true",
                    "--fallback-for-container-metrics=true",
                    `--secure-port=${SERVING_PORT}`,
                  ],
                  ports: [{ name: "https", containerPort: SERVING_PORT, protocol: "TCP" }],
                  resources: { requests: ADAPTER_RESOURCES, limits: ADAPTER_RESOURCES },
                  readinessProbe: {
                    httpGet: { path: "/healthz", port: "https", scheme: "HTTPS" },
                    initialDelaySeconds: 40,
                    periodSeconds: 10,
                    timeoutSeconds: 5,
                  },
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                },
              ],
            },
          },
        },
      },
      { ...inNamespace, dependsOn: [namespace, viewer, workloadIdentity] },
    );
    const service = new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: { name: ACCOUNT, namespace: NAMESPACE, labels },
        spec: {
          type: "ClusterIP",
          selector: labels,
          ports: [{ name: "https", port: SERVICE_PORT, targetPort: "https", protocol: "TCP" }],
        },
      },
      inNamespace,
    );

    for (const api of API_SERVICES) {
      new k8s.apiregistration.v1.APIService(
        `${name}-${api.version}-${api.group.split(".")[0]}`,
        {
          metadata: { name: `${api.version}.${api.group}`, labels },
          spec: {
            group: api.group,
            version: api.version,
            groupPriorityMinimum: 100,
            versionPriority: api.versionPriority,
            // Google's manifest does the same: the adapter serves a self-signed certificate.
            insecureSkipTLSVerify: true,
            service: { name: service.metadata.name, namespace: NAMESPACE, port: SERVICE_PORT },
          },
        },
        k8sOpts,
      );
    }

    this.serviceAccountEmail = account.email;
    this.registerOutputs({ serviceAccountEmail: this.serviceAccountEmail });
  }
}
