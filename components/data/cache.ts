import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { StackConfig } from "../../config";
import { caBundle } from "../../lib/ca-bundle";
import { StoredSecret } from "./stored-secret";

export interface CacheArgs {
  /** Region of the instance. */
  readonly region: string;
  /** The stack's `cache` settings (config.ts owns their defaults and rules). */
  readonly settings: StackConfig["cache"];
  /** Deletion protection at the Memorystore API, and Pulumi `protect` on the instance and secrets. */
  readonly deletionProtection: boolean;
  /** VPC network id the instance is reachable from. */
  readonly network: pulumi.Input<string>;
  /** The servicenetworking connection the instance waits for (Network.privateServiceAccess). */
  readonly privateServiceAccess: pulumi.Resource;
  /** Private Service Access range the instance's IPs come from. */
  readonly reservedIpRange: pulumi.Input<string>;
}

/** REDIS_URL for node-redis: TLS (`rediss://`) with the AUTH string as password. */
export function redisUrl(parts: {
  readonly authString: string;
  readonly host: string;
  readonly port: number;
}): string {
  return `rediss://:${encodeURIComponent(parts.authString)}@${parts.host}:${parts.port}`;
}

/**
 * Memorystore for Redis on Private Service Access with AUTH and in-transit encryption; the URL
 * (with the AUTH string) and the server CA bundle go to Secret Manager.
 */
export class Cache extends pulumi.ComponentResource {
  public readonly host: pulumi.Output<string>;
  /** The TLS port (usually 6378). */
  public readonly port: pulumi.Output<number>;
  /** REDIS_URL. */
  public readonly url: StoredSecret;
  /** REDIS_CA_CERT. */
  public readonly caCert: StoredSecret;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:Cache", name, {}, opts);
    const { settings, deletionProtection } = args;

    const instance = new gcp.redis.Instance(
      `${name}-redis`,
      {
        region: args.region,
        tier: settings.tier,
        memorySizeGb: settings.memorySizeGb,
        redisVersion: settings.redisVersion,
        authorizedNetwork: args.network,
        connectMode: "PRIVATE_SERVICE_ACCESS",
        reservedIpRange: args.reservedIpRange,
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        deletionProtection,
        maintenancePolicy: {
          weeklyMaintenanceWindows: [
            {
              day: settings.maintenanceWindow.day,
              startTime: { hours: settings.maintenanceWindow.hour, minutes: 0 },
            },
          ],
        },
      },
      { parent: this, dependsOn: [args.privateServiceAccess], protect: deletionProtection },
    );

    const stored = (suffix: string, value: pulumi.Input<string>) =>
      new StoredSecret(
        `${name}-${suffix}`,
        { value, labels: { component: "cache" }, protect: deletionProtection },
        { parent: this },
      );
    this.url = stored(
      "url",
      pulumi
        .all([instance.authString, instance.host, instance.port])
        .apply(([authString, host, port]) => redisUrl({ authString, host, port })),
    );
    this.caCert = stored("ca-cert", instance.serverCaCerts.apply(caBundle));

    this.host = instance.host;
    this.port = instance.port;
    this.registerOutputs({ host: this.host, port: this.port });
  }
}
