import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import { StoredSecret } from "./stored-secret";

export type CacheTier = "BASIC" | "STANDARD_HA";
export type Weekday = "MONDAY" | "TUESDAY" | "WEDNESDAY" | "THURSDAY" | "FRIDAY" | "SATURDAY" | "SUNDAY";

export interface CacheArgs {
  /** Region of the instance (required). */
  readonly region: string;
  /** VPC network id the instance is reachable from (required). */
  readonly network: pulumi.Input<string>;
  /** The servicenetworking connection the instance waits for (Network.privateServiceAccess) (required). */
  readonly privateServiceAccess: pulumi.Resource;
  /** Private Service Access range the instance's IPs come from; default any range of the connection. */
  readonly reservedIpRange?: pulumi.Input<string>;
  /** Enabled APIs the instance waits for (redis, secretmanager); default none. */
  readonly apis?: readonly pulumi.Resource[];
  /** "STANDARD_HA" (replica with automatic failover) or "BASIC"; default "STANDARD_HA". */
  readonly tier?: CacheTier;
  /** Memory in GB; default 5. */
  readonly memorySizeGb?: number;
  /** Memorystore Redis version; default "REDIS_7_2". */
  readonly redisVersion?: string;
  /** Day of the weekly maintenance window; default "SUNDAY". */
  readonly maintenanceDay?: Weekday;
  /** Start hour (UTC) of the weekly maintenance window; default 4. */
  readonly maintenanceHour?: number;
  /** Deletion protection (the provider protects an instance when unset); default true. */
  readonly deletionProtection?: boolean;
}

export interface ResolvedCacheArgs {
  readonly region: string;
  readonly tier: CacheTier;
  readonly memorySizeGb: number;
  readonly redisVersion: string;
  readonly maintenanceDay: Weekday;
  readonly maintenanceHour: number;
  readonly deletionProtection: boolean;
}

export function resolveCacheArgs(
  args: Omit<CacheArgs, "network" | "privateServiceAccess">,
): ResolvedCacheArgs {
  const tier = args.tier ?? "STANDARD_HA";
  if (tier !== "BASIC" && tier !== "STANDARD_HA") {
    throw new Error(`\`tier\` must be BASIC or STANDARD_HA, got "${String(tier)}"`);
  }
  const memorySizeGb = args.memorySizeGb ?? 5;
  if (!Number.isInteger(memorySizeGb) || memorySizeGb < 1 || memorySizeGb > 300) {
    throw new Error(`\`memorySizeGb\` must be an integer from 1 to 300, got ${memorySizeGb}`);
  }
  const redisVersion = args.redisVersion ?? "REDIS_7_2";
  if (!/^REDIS_\d+_\d+$/.test(redisVersion)) {
    throw new Error(
      `\`redisVersion\` must be a Memorystore version such as "REDIS_7_2", got "${redisVersion}"`,
    );
  }
  const maintenanceHour = args.maintenanceHour ?? 4;
  if (!Number.isInteger(maintenanceHour) || maintenanceHour < 0 || maintenanceHour > 23) {
    throw new Error(`\`maintenanceHour\` must be an integer from 0 to 23, got ${maintenanceHour}`);
  }
  return {
    region: args.region,
    tier,
    memorySizeGb,
    redisVersion,
    maintenanceDay: args.maintenanceDay ?? "SUNDAY",
    maintenanceHour,
    deletionProtection: args.deletionProtection ?? true,
  };
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
 * Every server CA, PEM, one after another. Memorystore publishes the next CA before the current one
 * expires; trusting all of them keeps clients connecting across the rotation.
 */
export function caBundle(certs: readonly { readonly cert?: string }[] | undefined): string {
  return (certs ?? [])
    .map((entry) => entry.cert?.trim())
    .filter((cert): cert is string => Boolean(cert))
    .join("\n");
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
    super("gcp-async-api:gcp:Cache", name, {}, opts);
    const resolved = resolveCacheArgs(args);

    const instance = new gcp.redis.Instance(
      `${name}-redis`,
      {
        region: resolved.region,
        tier: resolved.tier,
        memorySizeGb: resolved.memorySizeGb,
        redisVersion: resolved.redisVersion,
        authorizedNetwork: args.network,
        connectMode: "PRIVATE_SERVICE_ACCESS",
        reservedIpRange: args.reservedIpRange,
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        deletionProtection: resolved.deletionProtection,
        maintenancePolicy: {
          weeklyMaintenanceWindows: [
            { day: resolved.maintenanceDay, startTime: { hours: resolved.maintenanceHour, minutes: 0 } },
          ],
        },
      },
      { parent: this, dependsOn: [args.privateServiceAccess, ...(args.apis ?? [])] },
    );

    const secretLabels = { component: "cache" };
    this.url = new StoredSecret(
      `${name}-url`,
      {
        value: pulumi
          .all([instance.authString, instance.host, instance.port])
          .apply(([authString, host, port]) => redisUrl({ authString, host, port })),
        labels: secretLabels,
      },
      { parent: this },
    );
    this.caCert = new StoredSecret(
      `${name}-ca-cert`,
      { value: instance.serverCaCerts.apply(caBundle), labels: secretLabels },
      { parent: this },
    );

    this.host = instance.host;
    this.port = instance.port;
    this.registerOutputs({ host: this.host, port: this.port });
  }
}
