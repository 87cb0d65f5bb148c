import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import {
  apiEnvironment,
  parseCpuCores,
  parseMemoryMiB,
  type AppSecrets,
  type AppSettings,
} from "../workload/api-environment";
import { createApiServiceAccount } from "../workload/api-service-account";
import type { SecretRef } from "../data/stored-secret";

/** Plain settings of the service; checked by `resolveCloudRunServiceArgs` before anything is created. */
export interface CloudRunServiceSettings {
  /** GCP project id (required). */
  readonly project: string;
  /** Region of the service, e.g. "europe-west1" (required). */
  readonly region: string;
  /** App settings from the stack's `app` key (required). */
  readonly app: AppSettings;
  /** Instances kept warm; default 1. */
  readonly minInstances?: number;
  /** Upper bound of instances; default 100. */
  readonly maxInstances?: number;
  /** Requests one instance serves at once (1-1000); default 80 (Cloud Run's own default). */
  readonly concurrency?: number;
  /** Grant `roles/run.invoker` to allUsers (a public API); default false. */
  readonly publicInvoker?: boolean;
  /** Extra CPU while an instance starts; default true. */
  readonly startupCpuBoost?: boolean;
  /** Block deletion of the service; default true (turn off for dev stacks so `destroy` completes). */
  readonly deletionProtection?: boolean;
}

export interface CloudRunServiceArgs extends CloudRunServiceSettings {
  /** Image reference, ideally by digest (required). */
  readonly imageRef: pulumi.Input<string>;
  /** The app's secrets (required). */
  readonly secrets: AppSecrets<SecretRef>;
  /** VPC network for Direct VPC egress to Cloud SQL and Memorystore private IPs (required). */
  readonly network: pulumi.Input<string>;
  /** Subnetwork the instances take their egress IPs from (required). */
  readonly subnetwork: pulumi.Input<string>;
  /** Enabled APIs the service and its service account wait for (run, iam); default none. */
  readonly apis?: readonly pulumi.Resource[];
}

export interface ResolvedCloudRunServiceSettings {
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly concurrency: number;
  readonly publicInvoker: boolean;
  readonly startupCpuBoost: boolean;
  readonly deletionProtection: boolean;
}

/** Smallest memory the second-generation execution environment accepts. */
const GEN2_MIN_MEMORY_MIB = 512;

export function resolveCloudRunServiceArgs(
  settings: CloudRunServiceSettings,
): ResolvedCloudRunServiceSettings {
  const minInstances = settings.minInstances ?? 1;
  const maxInstances = settings.maxInstances ?? 100;
  const concurrency = settings.concurrency ?? 80;
  if (!Number.isInteger(minInstances) || minInstances < 0) {
    throw new Error(`\`minInstances\` must be an integer >= 0, got ${minInstances}`);
  }
  if (!Number.isInteger(maxInstances) || maxInstances < Math.max(1, minInstances)) {
    throw new Error(
      `\`maxInstances\` must be an integer >= 1 and >= \`minInstances\` (${minInstances}), got ${maxInstances}`,
    );
  }
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw new Error(`\`concurrency\` must be an integer between 1 and 1000, got ${concurrency}`);
  }
  if (parseCpuCores(settings.app.cpu) < 1 && concurrency > 1) {
    throw new Error(
      `\`concurrency\` must be 1 when \`app.cpu\` is below 1 (Cloud Run rule), got ${concurrency}`,
    );
  }
  if (parseMemoryMiB(settings.app.memory) < GEN2_MIN_MEMORY_MIB) {
    throw new Error(
      `\`app.memory\` must be at least ${GEN2_MIN_MEMORY_MIB}Mi on Cloud Run gen2, got "${settings.app.memory}"`,
    );
  }
  return {
    minInstances,
    maxInstances,
    concurrency,
    publicInvoker: settings.publicInvoker ?? false,
    startupCpuBoost: settings.startupCpuBoost ?? true,
    deletionProtection: settings.deletionProtection ?? true,
  };
}

/** The API on Cloud Run (v2, gen2) with its own identity, Secret Manager env and Direct VPC egress. */
export class CloudRunService extends pulumi.ComponentResource {
  /** The service's `https://…run.app` URI; not public (ingress admits only the edge and the VPC). */
  public readonly url: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly serviceAccountEmail: pulumi.Output<string>;

  constructor(name: string, args: CloudRunServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gcp-async-api:gcp:CloudRunService", name, {}, opts);
    const resolved = resolveCloudRunServiceArgs(args);
    const env = apiEnvironment({
      platform: "cloudrun",
      project: args.project,
      app: args.app,
      secrets: args.secrets,
    });
    const apis = [...(args.apis ?? [])];
    const identity = createApiServiceAccount(
      name,
      { project: args.project, secretEnv: env.secret, apis },
      this,
    );

    const service = new gcp.cloudrunv2.Service(
      name,
      {
        project: args.project,
        location: args.region,
        // Only Cloud Load Balancing (the edge) and the VPC reach it: the edge's Cloud Armor cannot be bypassed.
        ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        deletionProtection: resolved.deletionProtection,
        template: {
          serviceAccount: identity.account.email,
          executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
          maxInstanceRequestConcurrency: resolved.concurrency,
          scaling: { minInstanceCount: resolved.minInstances, maxInstanceCount: resolved.maxInstances },
          // Direct VPC egress: private ranges (Cloud SQL, Memorystore) through the VPC, the rest direct.
          vpcAccess: {
            networkInterfaces: [{ network: args.network, subnetwork: args.subnetwork }],
            egress: "PRIVATE_RANGES_ONLY",
          },
          containers: [
            {
              image: args.imageRef,
              ports: { containerPort: env.containerPort },
              envs: [
                ...env.plain.map(({ name: envName, value }) => ({ name: envName, value })),
                ...env.secret.map(({ name: envName, secret }) => ({
                  name: envName,
                  valueSource: { secretKeyRef: { secret: secret.secretId, version: secret.version } },
                })),
              ],
              resources: {
                limits: { cpu: args.app.cpu, memory: args.app.memory },
                startupCpuBoost: resolved.startupCpuBoost,
              },
              // Traffic only once the primary answers; restart only when the process itself hangs.
              startupProbe: {
                httpGet: { path: "/readyz", port: env.containerPort },
                periodSeconds: 2,
                timeoutSeconds: 2,
                failureThreshold: 30,
              },
              livenessProbe: {
                httpGet: { path: "/healthz", port: env.containerPort },
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
            },
          ],
        },
      },
      {
        parent: this,
        // A revision whose identity cannot read its secrets yet fails to start.
        dependsOn: [...identity.grants, ...apis],
        // Deploys from CI (gcloud) stamp these outside Pulumi; they are not drift worth undoing.
        ignoreChanges: ["client", "clientVersion", "annotations"],
      },
    );

    if (resolved.publicInvoker) {
      new gcp.cloudrunv2.ServiceIamMember(
        `${name}-public-invoker`,
        {
          project: args.project,
          location: service.location,
          name: service.name,
          role: "roles/run.invoker",
          member: "allUsers",
        },
        { parent: this },
      );
    }

    this.url = service.uri;
    this.serviceName = service.name;
    this.serviceAccountEmail = identity.account.email;
    this.registerOutputs({
      url: this.url,
      serviceName: this.serviceName,
      serviceAccountEmail: this.serviceAccountEmail,
    });
  }
}
