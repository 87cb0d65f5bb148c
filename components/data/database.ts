import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import type { StackConfig } from "../../config";
import { caBundle } from "../../lib/ca-bundle";
import { StoredSecret } from "./stored-secret";

export interface DatabaseArgs {
  /** Region of the primary and its replicas. */
  readonly region: string;
  /** The stack's `database` settings (config.ts owns their defaults and rules). */
  readonly settings: StackConfig["database"];
  /** Deletion protection at the Cloud SQL API, and Pulumi `protect` on the instances and secrets. */
  readonly deletionProtection: boolean;
  /** VPC network id the instances get their private IP in. */
  readonly network: pulumi.Input<string>;
  /** The servicenetworking connection every instance waits for (Network.privateServiceAccess). */
  readonly privateServiceAccess: pulumi.Resource;
  /** Private Service Access range the IPs come from. */
  readonly allocatedIpRange: pulumi.Input<string>;
  /** Labels of the instances: the provider's `defaultLabels` never reach Cloud SQL's `userLabels`. */
  readonly userLabels: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const POSTGRES_PORT = 5432;

/** ENTERPRISE_PLUS runs only db-perf-optimized tiers; POSTGRES_16+ defaults to it, so it is set. */
export function editionOf(tier: string): "ENTERPRISE" | "ENTERPRISE_PLUS" {
  return tier.startsWith("db-perf-optimized-") ? "ENTERPRISE_PLUS" : "ENTERPRISE";
}

/**
 * Connection URL for node-postgres, without `sslmode`: TLS and its verification come from
 * DATABASE_CA_CERT (the instances' server CAs), and an `sslmode` in the URL would override the
 * TLS options the API builds from it. The instances refuse unencrypted connections
 * (ENCRYPTED_ONLY), so a client that ignores the CA fails closed rather than in plain text.
 */
export function postgresUrl(parts: {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly database: string;
}): string {
  const credentials = `${encodeURIComponent(parts.user)}:${encodeURIComponent(parts.password)}`;
  return `postgres://${credentials}@${parts.host}:${POSTGRES_PORT}/${encodeURIComponent(parts.database)}`;
}

/** DATABASE_REPLICA_URLS: every replica's URL, comma-separated, in the order of the replica names. */
export function replicaUrlList(urls: readonly string[]): string {
  return urls.join(",");
}

/**
 * Cloud SQL for PostgreSQL with private IP only and TLS enforced: a primary, one read replica per
 * entry of `settings.replicas` (named by its key), the app's database and user, and in Secret
 * Manager the primary URL, the replica URLs and the server CA bundle of every instance.
 */
export class Database extends pulumi.ComponentResource {
  /** `project:region:instance` of the primary. */
  public readonly connectionName: pulumi.Output<string>;
  public readonly privateIp: pulumi.Output<string>;
  /** Replica name → private IP. */
  public readonly replicaPrivateIps: pulumi.Output<Record<string, string>>;
  /** DATABASE_URL: the primary. */
  public readonly primaryUrl: StoredSecret;
  /** DATABASE_REPLICA_URLS: every read replica. */
  public readonly replicaUrls: StoredSecret;
  /** DATABASE_CA_CERT: the server CAs of the primary and every replica. */
  public readonly caCert: StoredSecret;
  public readonly databaseName: pulumi.Output<string>;
  public readonly userName: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:Database", name, {}, opts);
    const { settings, deletionProtection } = args;

    // Shared by primary and replicas. PostgreSQL refuses to run a hot standby with a lower
    // max_connections than its primary, so the flag is the same everywhere.
    const instanceSettings = (tier: string) => ({
      tier,
      edition: editionOf(tier),
      diskSize: settings.diskSizeGb,
      diskType: "PD_SSD",
      diskAutoresize: true,
      deletionProtectionEnabled: deletionProtection,
      userLabels: args.userLabels,
      ipConfiguration: {
        ipv4Enabled: false,
        privateNetwork: args.network,
        allocatedIpRange: args.allocatedIpRange,
        sslMode: "ENCRYPTED_ONLY",
      },
      databaseFlags: [{ name: "max_connections", value: String(settings.maxConnections) }],
      insightsConfig: {
        queryInsightsEnabled: true,
        queryPlansPerMinute: 5,
        queryStringLength: 1024,
        recordApplicationTags: true,
        recordClientAddress: false,
      },
    });
    const instanceOptions = {
      parent: this,
      dependsOn: [args.privateServiceAccess],
      protect: deletionProtection,
      // Autoresize grows the disk; without this the next `up` would try to shrink it back.
      ignoreChanges: ["settings.diskSize"],
    };

    const primary = new gcp.sql.DatabaseInstance(
      `${name}-primary`,
      {
        region: args.region,
        databaseVersion: settings.version,
        deletionProtection,
        settings: {
          ...instanceSettings(settings.tier),
          availabilityType: settings.availabilityType,
          backupConfiguration: {
            enabled: true,
            startTime: settings.backupStartTime,
            pointInTimeRecoveryEnabled: settings.pointInTimeRecovery,
            ...(settings.pointInTimeRecovery ? { transactionLogRetentionDays: 7 } : {}),
            backupRetentionSettings: { retainedBackups: 14, retentionUnit: "COUNT" },
          },
          maintenanceWindow: { ...settings.maintenanceWindow, updateTrack: "stable" },
        },
      },
      instanceOptions,
    );

    // Cloud SQL runs one operation per primary at a time, so each replica waits for the previous
    // one. Sorted by name, so adding or removing one never reorders the others' dependencies by
    // accident of YAML key order.
    const replicaNames = Object.keys(settings.replicas).sort();
    const replicas: gcp.sql.DatabaseInstance[] = [];
    for (const replicaName of replicaNames) {
      const replica = settings.replicas[replicaName];
      const previous = replicas.at(-1);
      replicas.push(
        new gcp.sql.DatabaseInstance(
          `${name}-replica-${replicaName}`,
          {
            region: args.region,
            databaseVersion: settings.version,
            masterInstanceName: primary.name,
            deletionProtection,
            settings: {
              ...instanceSettings(replica.tier),
              availabilityType: "ZONAL",
              ...(replica.zone ? { locationPreference: { zone: replica.zone } } : {}),
            },
          },
          { ...instanceOptions, dependsOn: [...instanceOptions.dependsOn, ...(previous ? [previous] : [])] },
        ),
      );
    }

    // Creating the database and user while replicas are still being built makes applies time out
    // (terraform-google-sql-db#264): they wait for every replica.
    const afterReplicas = { parent: this, dependsOn: replicas };
    const database = new gcp.sql.Database(
      `${name}-database`,
      { instance: primary.name, name: settings.databaseName },
      afterReplicas,
    );
    const password = new random.RandomPassword(
      `${name}-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const user = new gcp.sql.User(
      `${name}-user`,
      {
        instance: primary.name,
        name: settings.userName,
        password: password.result,
        // The app owns its tables, so PostgreSQL refuses DROP ROLE; the role goes with the instance.
        deletionPolicy: "ABANDON",
      },
      afterReplicas,
    );

    const urlTo = (host: pulumi.Input<string>) =>
      pulumi
        .all([user.name, password.result, host, database.name])
        .apply(([userName, secret, address, databaseName]) =>
          postgresUrl({ user: userName, password: secret, host: address, database: databaseName }),
        );
    const stored = (suffix: string, value: pulumi.Input<string>) =>
      new StoredSecret(
        `${name}-${suffix}`,
        { value, labels: { component: "database" }, protect: deletionProtection },
        { parent: this },
      );
    this.primaryUrl = stored("url", urlTo(primary.privateIpAddress));
    this.replicaUrls = stored(
      "replica-urls",
      pulumi.all(replicas.map((replica) => urlTo(replica.privateIpAddress))).apply(replicaUrlList),
    );
    this.caCert = stored(
      "ca-cert",
      pulumi
        .all([primary, ...replicas].map((instance) => instance.serverCaCerts))
        .apply((certs) => caBundle(certs.flat())),
    );

    this.connectionName = primary.connectionName;
    this.privateIp = primary.privateIpAddress;
    this.replicaPrivateIps = pulumi
      .all(replicas.map((replica) => replica.privateIpAddress))
      .apply((ips) =>
        Object.fromEntries(replicaNames.map((replicaName, index) => [replicaName, ips[index]])),
      );
    this.databaseName = database.name;
    this.userName = user.name;
    this.registerOutputs({
      connectionName: this.connectionName,
      privateIp: this.privateIp,
      replicaPrivateIps: this.replicaPrivateIps,
      databaseName: this.databaseName,
      userName: this.userName,
    });
  }
}
