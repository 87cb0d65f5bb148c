import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { PROJECT_NAME } from "../../config";
import { caBundle, redisUrl, resolveCacheArgs, type CacheTier } from "../../components/data/cache";
import { postgresUrl, resolveDatabaseArgs } from "../../components/data/database";
import { contentHash, listSourceFiles } from "../../components/image/image";
import { REQUIRED_APIS, resolveNetworkArgs } from "../../components/data/network";
import { resolveStoredSecretArgs } from "../../components/data/stored-secret";
import type { PlanDocument } from "../../plan/types";
import { dataTier, Inventory, planOf, SECRET, T } from "./inventory";
import { stackConfig, STACKS } from "../../lib/stack-files";

/** The explicit gcp provider (an engine type, not in the resource-type table). */
const GCP_PROVIDER = "pulumi:providers:gcp";

const COMPONENT = {
  network: "gcp-async-api:gcp:Network",
  database: "gcp-async-api:gcp:Database",
  cache: "gcp-async-api:gcp:Cache",
  image: "gcp-async-api:gcp:Image",
  storedSecret: "gcp-async-api:gcp:StoredSecret",
} as const;

const APP_IMAGE = path.resolve(__dirname, "../../app-image");

for (const stack of STACKS) {
  describe(`data tier of the ${stack} stack`, () => {
    const cfg = stackConfig(stack);
    const { project, region } = cfg.gcp;
    let doc: PlanDocument;
    let plan: Inventory;

    before(async () => {
      doc = await planOf(stack);
      plan = new Inventory(doc.resources);
    });

    it("labels every GCP resource through one explicit provider", () => {
      const provider = plan.expectInputs(GCP_PROVIDER, "gcp", { project, region });
      // Provider inputs reach the engine JSON-encoded, like provider config.
      assert.deepEqual(JSON.parse(String(provider.inputs.defaultLabels)), {
        app: PROJECT_NAME,
        stack,
        "managed-by": "pulumi",
      });
      const unlabelled = plan.resources
        .filter((resource) => resource.type.startsWith("gcp:"))
        .filter((resource) => !resource.provider?.startsWith(`${provider.urn}::`))
        .map((resource) => `${resource.urn} → ${resource.provider}`);
      assert.deepEqual(unlabelled, [], "these GCP resources do not use the labelled provider");
    });

    it("enables every API either platform needs and leaves them on at destroy", () => {
      for (const api of REQUIRED_APIS) {
        plan.expectInputs(T.apiService, `items-net-api-${api}`, {
          service: `${api}.googleapis.com`,
          disableOnDestroy: false,
        });
      }
    });

    it("builds a custom-mode VPC with one subnet and the GKE secondary ranges", () => {
      const vpc = plan.expectInputs(T.network, "items-net-vpc", { autoCreateSubnetworks: false });
      plan.expectDependsOn(vpc, [plan.find(T.apiService, "items-net-api-compute")]);
      plan.expectInputs(T.subnetwork, "items-net-subnet", {
        region,
        ipCidrRange: cfg.network.subnetCidr,
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: "items-net-pods", ipCidrRange: cfg.network.podsCidr },
          { rangeName: "items-net-services", ipCidrRange: cfg.network.servicesCidr },
        ],
      });
    });

    it("peers a Private Service Access range with Google's producers, abandoning the peering at destroy", () => {
      plan.expectInputs(T.globalAddress, "items-net-psa-range", {
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        prefixLength: cfg.network.privateServiceAccessPrefixLength,
      });
      const connection = plan.expectInputs(T.privateServiceConnection, "items-net-psa", {
        service: "servicenetworking.googleapis.com",
        deletionPolicy: "ABANDON",
      });
      plan.expectDependsOn(connection, [plan.find(T.apiService, "items-net-api-servicenetworking")]);
    });

    it("gives private nodes outbound access through Cloud NAT", () => {
      plan.expectInputs(T.router, "items-net-router", { region });
      plan.expectInputs(T.routerNat, "items-net-nat", {
        region,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
      });
    });

    const sharedSettings = () => ({
      tier: cfg.database.tier,
      edition: "ENTERPRISE",
      deletionProtectionEnabled: cfg.deletionProtection,
      ipConfiguration: { ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" },
      databaseFlags: [{ name: "max_connections", value: String(cfg.database.maxConnections) }],
      insightsConfig: { queryInsightsEnabled: true },
    });

    it("runs the Cloud SQL primary on a private IP, after the peering exists", () => {
      const primary = plan.expectInputs(T.sqlInstance, "items-db-primary", {
        region,
        databaseVersion: cfg.database.version,
        deletionProtection: cfg.deletionProtection,
        settings: {
          ...sharedSettings(),
          availabilityType: cfg.database.availabilityType,
          diskSize: cfg.database.diskSizeGb,
          backupConfiguration: {
            enabled: true,
            startTime: cfg.database.backupStartTime,
            pointInTimeRecoveryEnabled: cfg.database.pointInTimeRecovery,
          },
          maintenanceWindow: cfg.database.maintenanceWindow,
        },
      });
      plan.expectDependsOn(primary, [plan.find(T.privateServiceConnection, "items-net-psa")]);
      assert.equal(primary.parent, plan.find(COMPONENT.database, "items-db").urn);
    });

    it("adds each read replica after the previous one, zonal, with the primary's flags", () => {
      const connection = plan.find(T.privateServiceConnection, "items-net-psa");
      const replicas = Array.from({ length: cfg.database.replicaCount }, (_, index) =>
        plan.expectInputs(T.sqlInstance, `items-db-replica-${index}`, {
          region,
          databaseVersion: cfg.database.version,
          settings: { ...sharedSettings(), availabilityType: "ZONAL" },
        }),
      );
      replicas.forEach((replica, index) => {
        assert.ok(replica.inputs.masterInstanceName, `${replica.name} has no masterInstanceName`);
        assert.equal((replica.inputs.settings as Record<string, unknown>).backupConfiguration, undefined);
        plan.expectDependsOn(replica, [connection, ...replicas.slice(index - 1, index)]);
      });
      assert.equal(plan.all(T.sqlInstance).length, 1 + cfg.database.replicaCount);
    });

    it("creates the database and its user after every replica, with a 32-character random password", () => {
      const replicas = plan
        .all(T.sqlInstance)
        .filter((instance) => instance.name.startsWith("items-db-replica-"));
      const database = plan.expectInputs(T.sqlDatabase, "items-db-database", {
        name: cfg.database.databaseName,
      });
      const user = plan.expectInputs(T.sqlUser, "items-db-user", {
        name: cfg.database.userName,
        password: SECRET,
        deletionPolicy: "ABANDON",
      });
      plan.expectDependsOn(database, replicas);
      plan.expectDependsOn(user, replicas);
      plan.expectInputs(T.password, "items-db-password", { length: 32 });
    });

    it("runs Memorystore on Private Service Access with AUTH and TLS", () => {
      const redis = plan.expectInputs(T.redisInstance, "items-cache-redis", {
        region,
        tier: cfg.cache.tier,
        memorySizeGb: cfg.cache.memorySizeGb,
        redisVersion: cfg.cache.redisVersion,
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        connectMode: "PRIVATE_SERVICE_ACCESS",
        deletionProtection: cfg.deletionProtection,
        maintenancePolicy: {
          weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 4, minutes: 0 } }],
        },
      });
      plan.expectDependsOn(redis, [plan.find(T.privateServiceConnection, "items-net-psa")]);
    });

    it("stores the four connection secrets in Secret Manager, one version each", () => {
      const secrets = [
        ["items-db-url", "database"],
        ["items-db-replica-url", "database"],
        ["items-cache-url", "cache"],
        ["items-cache-ca-cert", "cache"],
      ] as const;
      for (const [secretId, component] of secrets) {
        const secret = plan.expectInputs(T.secret, secretId, {
          secretId,
          replication: { auto: {} },
          labels: { component },
        });
        assert.equal(secret.parent, plan.find(COMPONENT.storedSecret, secretId).urn);
        plan.expectInputs(T.secretVersion, `${secretId}-version`, { secretData: SECRET });
      }
    });

    it("pushes the image to its own repository, tagged with the content hash of app-image/", () => {
      plan.expectInputs(T.repository, "items-repository", {
        location: region,
        repositoryId: "items",
        format: "DOCKER",
        cleanupPolicies: [
          { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: 10 } },
          { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: "2592000s" } },
        ],
      });
      const tag = contentHash(listSourceFiles(APP_IMAGE));
      plan.expectInputs(T.dockerImage, "items-image", {
        imageName: `${region}-docker.pkg.dev/${project}/items/items-api:${tag}`,
        build: { context: "app-image", dockerfile: "app-image/Dockerfile", platform: "linux/amd64" },
        registry: { server: `${region}-docker.pkg.dev`, username: "oauth2accesstoken", password: SECRET },
      });
    });

    it("exports the documented stack outputs", () => {
      assert.deepEqual(Object.keys(doc.outputs).sort(), [
        "cacheHost",
        "cachePort",
        "databaseConnectionName",
        "databasePrivateIp",
        "databaseReplicaPrivateIps",
        "imageRef",
        "platform",
        "url",
      ]);
      assert.equal(doc.outputs.platform, cfg.platform);
      assert.equal((doc.outputs.databaseReplicaPrivateIps as unknown[]).length, cfg.database.replicaCount);
    });

    it("has exactly the expected data-tier inventory", () => {
      dataTier(plan).expectCounts({
        [COMPONENT.network]: 1,
        [COMPONENT.database]: 1,
        [COMPONENT.cache]: 1,
        [COMPONENT.image]: 1,
        [COMPONENT.storedSecret]: 4,
        [GCP_PROVIDER]: 1,
        "pulumi:providers:random": 1,
        "pulumi:providers:docker": 1,
        [T.apiService]: REQUIRED_APIS.length,
        [T.network]: 1,
        [T.subnetwork]: 1,
        [T.globalAddress]: 1,
        [T.privateServiceConnection]: 1,
        [T.router]: 1,
        [T.routerNat]: 1,
        [T.sqlInstance]: 1 + cfg.database.replicaCount,
        [T.sqlDatabase]: 1,
        [T.sqlUser]: 1,
        [T.password]: 1,
        [T.redisInstance]: 1,
        [T.secret]: 4,
        [T.secretVersion]: 4,
        [T.repository]: 1,
        [T.dockerImage]: 1,
      });
    });
  });
}

describe("image tag: content hash of the build context", () => {
  let root: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "image-hash-"));
    fs.mkdirSync(path.join(root, "src"));
    fs.writeFileSync(path.join(root, "Dockerfile"), "FROM node:20-slim\n");
    fs.writeFileSync(path.join(root, "src", "server.ts"), "export {};\n");
  });

  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("ignores build output and installed packages", () => {
    const before = contentHash(listSourceFiles(root));
    for (const directory of ["node_modules", "dist"]) {
      fs.mkdirSync(path.join(root, directory));
      fs.writeFileSync(path.join(root, directory, "index.js"), "module.exports = 1;\n");
    }
    fs.writeFileSync(path.join(root, "tsconfig.tsbuildinfo"), "{}");
    assert.equal(contentHash(listSourceFiles(root)), before);
  });

  it("changes when a source file changes, is added or is renamed", () => {
    const seen = new Set([contentHash(listSourceFiles(root))]);
    fs.writeFileSync(path.join(root, "src", "server.ts"), "export const x = 1;\n");
    seen.add(contentHash(listSourceFiles(root)));
    fs.writeFileSync(path.join(root, "src", "app.ts"), "export {};\n");
    seen.add(contentHash(listSourceFiles(root)));
    fs.renameSync(path.join(root, "src", "app.ts"), path.join(root, "src", "main.ts"));
    seen.add(contentHash(listSourceFiles(root)));
    assert.equal(seen.size, 4);
  });

  it("does not depend on the order files are listed in", () => {
    const files = listSourceFiles(root);
    assert.equal(contentHash([...files].reverse()), contentHash(files));
    assert.match(contentHash(files), /^[0-9a-f]{16}$/);
  });
});

describe("data-tier components: argument resolution and derived values, without Pulumi", () => {
  it("Network: defaults, and ranges that must not overlap", () => {
    assert.deepEqual(resolveNetworkArgs({ region: "europe-west1" }), {
      region: "europe-west1",
      subnetCidr: "10.0.0.0/20",
      podsCidr: "10.4.0.0/14",
      servicesCidr: "10.8.0.0/20",
      privateServiceAccessPrefixLength: 16,
    });
    assert.throws(
      () => resolveNetworkArgs({ region: "europe-west1", podsCidr: "10.0.0.0/14" }),
      /`subnetCidr` must not overlap `podsCidr`/,
    );
    assert.throws(
      () => resolveNetworkArgs({ region: "europe-west1", subnetCidr: "10.0.0.1/20" }),
      /`subnetCidr`/,
    );
  });

  it("Database: the edition follows the tier, and REGIONAL needs point-in-time recovery", () => {
    assert.equal(
      resolveDatabaseArgs({ region: "europe-west1", tier: "db-custom-1-3840" }).edition,
      "ENTERPRISE",
    );
    assert.equal(
      resolveDatabaseArgs({ region: "europe-west1", tier: "db-perf-optimized-N-8" }).edition,
      "ENTERPRISE_PLUS",
    );
    assert.throws(
      () =>
        resolveDatabaseArgs({
          region: "europe-west1",
          availabilityType: "REGIONAL",
          pointInTimeRecovery: false,
        }),
      /`pointInTimeRecovery` must be true when `availabilityType` is REGIONAL/,
    );
    assert.throws(() => resolveDatabaseArgs({ region: "europe-west1", replicaCount: 0 }), /`replicaCount`/);
    assert.equal(resolveDatabaseArgs({ region: "europe-west1" }).deletionProtection, true);
  });

  it("Database: the URL escapes credentials and encrypts without a CA to verify against", () => {
    assert.equal(
      postgresUrl({ user: "items_api", password: "p@ss/word", host: "10.1.2.3", database: "items" }),
      "postgres://items_api:p%40ss%2Fword@10.1.2.3:5432/items?sslmode=no-verify",
    );
  });

  it("Cache: protected unless told otherwise, and only known tiers", () => {
    assert.equal(resolveCacheArgs({ region: "europe-west1" }).deletionProtection, true);
    assert.throws(
      () => resolveCacheArgs({ region: "europe-west1", tier: "PREMIUM" as CacheTier }),
      /`tier` must be BASIC or STANDARD_HA/,
    );
  });

  it("Cache: a TLS URL with the AUTH string, and every server CA in the bundle", () => {
    assert.equal(
      redisUrl({ authString: "a+b/c", host: "10.0.0.3", port: 6378 }),
      "rediss://:a%2Bb%2Fc@10.0.0.3:6378",
    );
    const current = "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----";
    const next = "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----";
    assert.equal(caBundle([{ cert: `${current}\n` }, { cert: next }, {}]), `${current}\n${next}`);
    assert.equal(caBundle(undefined), "");
  });

  it("StoredSecret: the secret id defaults to the component's name and must be valid", () => {
    assert.equal(resolveStoredSecretArgs("items-db-url", {}).secretId, "items-db-url");
    assert.throws(() => resolveStoredSecretArgs("x", { secretId: "bad id" }), /`secretId`/);
  });
});
