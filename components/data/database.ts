import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { StoredSecret } from "./stored-secret";

export interface MaintenanceWindow {
  /** Day of week, 1 (Monday) to 7. */
  readonly day: number;
  /** Hour of day, 0-23 UTC. */
  readonly hour: number;
}

export interface DatabaseArgs {
  /** Region of the primary and its replicas (required). */
  readonly region: string;
  /** VPC network id the instances get their private IP in (required). */
  readonly network: pulumi.Input<string>;
  /** The servicenetworking connection every instance waits for (Network.privateServiceAccess) (required). */
  readonly privateServiceAccess: pulumi.Resource;
  /** Private Service Access range the IPs come from; default any range of the connection. */
  readonly allocatedIpRange?: pulumi.Input<string>;
  /** Enabled APIs the instances wait for (sqladmin, secretmanager); default none. */
  readonly apis?: readonly pulumi.Resource[];
  /** Cloud SQL PostgreSQL version; default "POSTGRES_16". */
  readonly databaseVersion?: string;
  /** Machine tier of primary and replicas; default "db-custom-2-7680". */
  readonly tier?: string;
  /** "REGIONAL" (standby in a second zone) or "ZONAL"; default "REGIONAL". */
  readonly availabilityType?: "ZONAL" | "REGIONAL";
  /** Initial data disk in GB (grows automatically); default 20. */
  readonly diskSizeGb?: number;
  /** Number of read replicas, created one after another; default 1. */
  readonly replicaCount?: number;
  /** PostgreSQL `max_connections` on primary and replicas, set explicitly; default 200. */
  readonly maxConnections?: number;
  /** Point-in-time recovery (WAL archiving); default true. */
  readonly pointInTimeRecovery?: boolean;
  /** Start of the daily backup, "HH:MM" UTC; default "02:00". */
  readonly backupStartTime?: string;
  /** Weekly maintenance window; default Sunday 03:00 UTC. */
  readonly maintenanceWindow?: MaintenanceWindow;
  /** Name of the app's database; default "items". */
  readonly databaseName?: string;
  /** Name of the app's PostgreSQL user; default "items_api". */
  readonly userName?: string;
  /** Deletion protection in Pulumi and at the Cloud SQL API; default true. */
  readonly deletionProtection?: boolean;
  /** Labels of the instances: the provider's `defaultLabels` never reach Cloud SQL's `userLabels`; default none. */
  readonly userLabels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface ResolvedDatabaseArgs {
  readonly region: string;
  readonly databaseVersion: string;
  readonly tier: string;
  /** ENTERPRISE_PLUS runs only db-perf-optimized tiers; POSTGRES_16+ defaults to it, so it is set. */
  readonly edition: "ENTERPRISE" | "ENTERPRISE_PLUS";
  readonly availabilityType: "ZONAL" | "REGIONAL";
  readonly diskSizeGb: number;
  readonly replicaCount: number;
  readonly maxConnections: number;
  readonly pointInTimeRecovery: boolean;
  readonly backupStartTime: string;
  readonly maintenanceWindow: MaintenanceWindow;
  readonly databaseName: string;
  readonly userName: string;
  readonly deletionProtection: boolean;
}

const POSTGRES_PORT = 5432;
const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

function requireInteger(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new Error(`\`${field}\` must be an integer ${range}, got ${value}`);
  }
  return value;
}

export function resolveDatabaseArgs(
  args: Omit<DatabaseArgs, "network" | "privateServiceAccess">,
): ResolvedDatabaseArgs {
  const databaseVersion = args.databaseVersion ?? "POSTGRES_16";
  if (!/^POSTGRES_\d+$/.test(databaseVersion)) {
    throw new Error(
      `\`databaseVersion\` must be a PostgreSQL version such as "POSTGRES_16", got "${databaseVersion}"`,
    );
  }
  const tier = args.tier ?? "db-custom-2-7680";
  const availabilityType = args.availabilityType ?? "REGIONAL";
  const pointInTimeRecovery = args.pointInTimeRecovery ?? true;
  if (availabilityType === "REGIONAL" && !pointInTimeRecovery) {
    throw new Error(
      "`pointInTimeRecovery` must be true when `availabilityType` is REGIONAL (Cloud SQL rule)",
    );
  }
  const backupStartTime = args.backupStartTime ?? "02:00";
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(backupStartTime)) {
    throw new Error(`\`backupStartTime\` must be "HH:MM" (UTC), got "${backupStartTime}"`);
  }
  const maintenanceWindow = args.maintenanceWindow ?? { day: 7, hour: 3 };
  requireInteger("maintenanceWindow.day", maintenanceWindow.day, 1, 7);
  requireInteger("maintenanceWindow.hour", maintenanceWindow.hour, 0, 23);
  const databaseName = args.databaseName ?? "items";
  const userName = args.userName ?? "items_api";
  for (const [field, value] of [
    ["databaseName", databaseName],
    ["userName", userName],
  ] as const) {
    if (!IDENTIFIER.test(value)) {
      throw new Error(`\`${field}\` must be a lower-case PostgreSQL identifier, got "${value}"`);
    }
  }
  return {
    region: args.region,
    databaseVersion,
    tier,
    edition: tier.startsWith("db-perf-optimized-") ? "ENTERPRISE_PLUS" : "ENTERPRISE",
    availabilityType,
    diskSizeGb: requireInteger("diskSizeGb", args.diskSizeGb ?? 20, 10),
    replicaCount: requireInteger("replicaCount", args.replicaCount ?? 1, 1),
    maxConnections: requireInteger("maxConnections", args.maxConnections ?? 200, 14, 262143),
    pointInTimeRecovery,
    backupStartTime,
    maintenanceWindow,
    databaseName,
    userName,
    deletionProtection: args.deletionProtection ?? true,
  };
}

/**
 * Connection URL for node-postgres. `sslmode=no-verify` encrypts without verifying the server
 * certificate: in node-postgres `sslmode=require` means verify-full, and the API has no variable for
 * the Cloud SQL CA yet. The instance only has a private IP inside our VPC and refuses unencrypted
 * connections (ENCRYPTED_ONLY), so this is encryption against passive observers, not MITM-proof.
 */
export function postgresUrl(parts: {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly database: string;
}): string {
  const credentials = `${encodeURIComponent(parts.user)}:${encodeURIComponent(parts.password)}`;
  return `postgres://${credentials}@${parts.host}:${POSTGRES_PORT}/${encodeURIComponent(parts.database)}?sslmode=no-verify`;
}

/**
 * Cloud SQL for PostgreSQL with private IP only and TLS enforced: a primary, `replicaCount` read
 * replicas, the app's database and user, and the primary and replica URLs in Secret Manager.
 */
export class Database extends pulumi.ComponentResource {
  /** `project:region:instance` of the primary. */
  public readonly connectionName: pulumi.Output<string>;
  public readonly privateIp: pulumi.Output<string>;
  public readonly replicaPrivateIps: pulumi.Output<string[]>;
  /** DATABASE_URL: the primary. */
  public readonly primaryUrl: StoredSecret;
  /** DATABASE_REPLICA_URL: the first read replica. */
  public readonly replicaUrl: StoredSecret;
  public readonly databaseName: pulumi.Output<string>;
  public readonly userName: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gcp-async-api:gcp:Database", name, {}, opts);
    const resolved = resolveDatabaseArgs(args);

    // Shared by primary and replicas. PostgreSQL refuses to run a hot standby with a lower
    // max_connections than its primary, so the flag is the same everywhere.
    const settings = {
      tier: resolved.tier,
      edition: resolved.edition,
      diskSize: resolved.diskSizeGb,
      diskType: "PD_SSD",
      diskAutoresize: true,
      deletionProtectionEnabled: resolved.deletionProtection,
      userLabels: args.userLabels,
      ipConfiguration: {
        ipv4Enabled: false,
        privateNetwork: args.network,
        allocatedIpRange: args.allocatedIpRange,
        sslMode: "ENCRYPTED_ONLY",
      },
      databaseFlags: [{ name: "max_connections", value: String(resolved.maxConnections) }],
      insightsConfig: {
        queryInsightsEnabled: true,
        queryPlansPerMinute: 5,
        queryStringLength: 1024,
        recordApplicationTags: true,
        recordClientAddress: false,
      },
    };
    const instanceOptions = {
      parent: this,
      dependsOn: [args.privateServiceAccess, ...(args.apis ?? [])],
      // Autoresize grows the disk; without this the next `up` would try to shrink it back.
      ignoreChanges: ["settings.diskSize"],
    };

    const primary = new gcp.sql.DatabaseInstance(
      `${name}-primary`,
      {
        region: resolved.region,
        databaseVersion: resolved.databaseVersion,
        deletionProtection: resolved.deletionProtection,
        settings: {
          ...settings,
          availabilityType: resolved.availabilityType,
          backupConfiguration: {
            enabled: true,
            startTime: resolved.backupStartTime,
            pointInTimeRecoveryEnabled: resolved.pointInTimeRecovery,
            ...(resolved.pointInTimeRecovery ? { transactionLogRetentionDays: 7 } : {}),
            backupRetentionSettings: { retainedBackups: 14, retentionUnit: "COUNT" },
          },
          maintenanceWindow: { ...resolved.maintenanceWindow, updateTrack: "stable" },
        },
      },
      instanceOptions,
    );

    // Cloud SQL runs one operation per primary at a time, so each replica waits for the previous one.
    const replicas: gcp.sql.DatabaseInstance[] = [];
    for (let index = 0; index < resolved.replicaCount; index++) {
      const previous = replicas.at(-1);
      replicas.push(
        new gcp.sql.DatabaseInstance(
          `${name}-replica-${index}`,
          {
            region: resolved.region,
            databaseVersion: resolved.databaseVersion,
            masterInstanceName: primary.name,
            deletionProtection: resolved.deletionProtection,
            settings: { ...settings, availabilityType: "ZONAL" },
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
      { instance: primary.name, name: resolved.databaseName },
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
        name: resolved.userName,
        password: password.result,
        // The app owns its tables, so PostgreSQL refuses DROP ROLE; the role goes with the instance.
        deletionPolicy: "ABANDON",
      },
      afterReplicas,
    );

    const urlTo = (host: pulumi.Input<string>) =>
      pulumi.secret(
        pulumi
          .all([user.name, password.result, host, database.name])
          .apply(([userName, secret, address, databaseName]) =>
            postgresUrl({ user: userName, password: secret, host: address, database: databaseName }),
          ),
      );
    const secretLabels = { component: "database" };
    this.primaryUrl = new StoredSecret(
      `${name}-url`,
      { value: urlTo(primary.privateIpAddress), labels: secretLabels },
      { parent: this },
    );
    this.replicaUrl = new StoredSecret(
      `${name}-replica-url`,
      { value: urlTo(replicas[0].privateIpAddress), labels: secretLabels },
      { parent: this },
    );

    this.connectionName = primary.connectionName;
    this.privateIp = primary.privateIpAddress;
    this.replicaPrivateIps = pulumi.all(replicas.map((replica) => replica.privateIpAddress));
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
