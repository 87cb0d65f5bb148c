import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import { apiEnvironment, type AppSecrets, type AppSettings } from "../workload/api-environment";
import { createApiServiceAccount } from "../workload/api-service-account";
import type { SecretRef } from "../data/stored-secret";
import type { StackConfig } from "../../config";

/** The stack's `cloudrun` settings, validated and defaulted by config.ts. */
export type CloudRunSettings = StackConfig["cloudrun"];

export interface CloudRunServiceArgs {
  /** GCP project id. */
  readonly project: string;
  /** Region of the service, e.g. "europe-west1". */
  readonly region: string;
  /** The stack's `app` settings (resources and the API's environment). */
  readonly app: AppSettings;
  /** Scaling, concurrency, access and startup boost. */
  readonly settings: CloudRunSettings;
  /** Block deletion of the service (off in dev so `destroy` completes). */
  readonly deletionProtection: boolean;
  /** Image reference, by digest. */
  readonly imageRef: pulumi.Input<string>;
  /** The app's secrets. */
  readonly secrets: AppSecrets<SecretRef>;
  /** VPC network for Direct VPC egress to Cloud SQL and Memorystore private IPs. */
  readonly network: pulumi.Input<string>;
  /** Subnetwork the instances take their egress IPs from. */
  readonly subnetwork: pulumi.Input<string>;
  /** Enabled APIs the service and its service account wait for (run, iam). */
  readonly apis: readonly pulumi.Resource[];
}

/**
 * Longest startup Cloud Run allows a startup probe (failureThreshold x periodSeconds <= 240 s). Direct
 * VPC egress can take a minute or more to connect when an instance starts, and /readyz fails until
 * the database answers, so the probe uses all of it.
 */
const STARTUP_WINDOW_SECONDS = 240;
const STARTUP_PROBE_PERIOD_SECONDS = 2;

/** The API on Cloud Run (v2, gen2) with its own identity, Secret Manager env and Direct VPC egress. */
export class CloudRunService extends pulumi.ComponentResource {
  /** The service's `https://…run.app` URI; not public (ingress admits only the edge and the VPC). */
  public readonly url: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly serviceAccountEmail: pulumi.Output<string>;

  constructor(name: string, args: CloudRunServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:CloudRunService", name, {}, opts);
    const { settings } = args;
    const env = apiEnvironment({
      platform: "cloudrun",
      project: args.project,
      app: args.app,
      secrets: args.secrets,
    });
    const apis = [...args.apis];
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
        // The edge's serverless NEG calls the service without credentials, so the invoker check is
        // off; the ingress above is what keeps everyone else out. (Granting run.invoker to allUsers
        // instead is refused where the domain-restricted-sharing organisation policy holds, which
        // organisations created since 2024 enforce.)
        invokerIamDisabled: true,
        deletionProtection: args.deletionProtection,
        template: {
          serviceAccount: identity.account.email,
          executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
          maxInstanceRequestConcurrency: settings.concurrency,
          scaling: { minInstanceCount: settings.minInstances, maxInstanceCount: settings.maxInstances },
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
                startupCpuBoost: settings.startupCpuBoost,
              },
              // Traffic only once the primary answers; restart only when the process itself hangs.
              startupProbe: {
                httpGet: { path: "/readyz", port: env.containerPort },
                periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
                timeoutSeconds: 2,
                failureThreshold: STARTUP_WINDOW_SECONDS / STARTUP_PROBE_PERIOD_SECONDS,
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
