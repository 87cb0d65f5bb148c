import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { PROJECT_NAME } from "../../config";
import { redisUrl } from "../../components/data/cache";
import { editionOf, postgresUrl, replicaUrlList } from "../../components/data/database";
import { contentHash, listSourceFiles } from "../../components/image/image";
import { addressRange } from "../../components/data/network";
import { secretIdOf } from "../../components/data/stored-secret";
import { caBundle } from "../../lib/ca-bundle";
import { requiredApis } from "../../lib/resource-types";
import type { PlanDocument } from "../../plan/types";
import { dataTier, Inventory, planOf, SECRET, T } from "./inventory";
import { stackConfig, STACKS } from "../../lib/stack-files";

/** The explicit gcp provider (an engine type, not in the resource-type table). */
const GCP_PROVIDER = "pulumi:providers:gcp";

const COMPONENT = {
  apis: "items-api:gcp:ProjectApis",
  network: "items-api:gcp:Network",
  database: "items-api:gcp:Database",
  cache: "items-api:gcp:Cache",
  // H-REAL's component: its type token follows the product rename when the lead merges.
  image: "items-api:gcp:Image",
  storedSecret: "items-api:gcp:StoredSecret",
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

    it("enables every API either platform needs, before anything else, and leaves them on at destroy", () => {
      const services = requiredApis().map((api) =>
        plan.expectInputs(T.apiService, `items-apis-${api.replace(/\.googleapis\.com$/, "")}`, {
          service: api,
          disableOnDestroy: false,
        }),
      );
      for (const component of [COMPONENT.network, COMPONENT.database, COMPONENT.cache].map(
        (type) => plan.all(type)[0],
      )) {
        plan.expectDependsOn(component, services);
      }
    });

    it("builds a custom-mode VPC with one subnet and the GKE secondary ranges", () => {
      plan.expectInputs(T.network, "items-net-vpc", { autoCreateSubnetworks: false });
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

    it("peers the pinned Private Service Access range with Google's producers, abandoning the peering at destroy", () => {
      const [address, prefixLength] = cfg.network.privateServiceAccessCidr.split("/");
      plan.expectInputs(T.globalAddress, "items-net-psa-range", {
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        address,
        prefixLength: Number(prefixLength),
      });
      const connection = plan.expectInputs(T.privateServiceConnection, "items-net-psa", {
        service: "servicenetworking.googleapis.com",
        deletionPolicy: "ABANDON",
      });
      assert.equal(connection.protect, cfg.deletionProtection);
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

    it("adds each named read replica after the previous one, zonal, with the primary's flags", () => {
      const connection = plan.find(T.privateServiceConnection, "items-net-psa");
      const replicas = Object.keys(cfg.database.replicas)
        .sort()
        .map((replicaName) =>
          plan.expectInputs(T.sqlInstance, `items-db-replica-${replicaName}`, {
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
      assert.equal(plan.all(T.sqlInstance).length, 1 + Object.keys(cfg.database.replicas).length);
      for (const instance of plan.all(T.sqlInstance)) assert.equal(instance.protect, cfg.deletionProtection);
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
          weeklyMaintenanceWindows: [
            {
              day: cfg.cache.maintenanceWindow.day,
              startTime: { hours: cfg.cache.maintenanceWindow.hour, minutes: 0 },
            },
          ],
        },
      });
      plan.expectDependsOn(redis, [plan.find(T.privateServiceConnection, "items-net-psa")]);
      assert.equal(redis.protect, cfg.deletionProtection);
    });

    it("stores the five connection secrets in Secret Manager, one version each, protected with the data", () => {
      const secrets = [
        ["items-db-url", "database"],
        ["items-db-replica-urls", "database"],
        ["items-db-ca-cert", "database"],
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
        assert.equal(secret.protect, cfg.deletionProtection, `${secretId} protect`);
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
        tags: [`${region}-docker.pkg.dev/${project}/items/items-api:${tag}`],
        context: { location: "app-image" },
        dockerfile: { location: "app-image/Dockerfile" },
        platforms: ["linux/amd64"],
        push: true,
        buildOnPreview: false,
        registries: [
          { address: `${region}-docker.pkg.dev`, username: "oauth2accesstoken", password: SECRET },
        ],
      });
    });

    it("exports the documented stack outputs", () => {
      assert.deepEqual(Object.keys(doc.outputs).sort(), [
        "cacheHost",
        "cachePort",
        "databaseConnectionName",
        "databasePrivateIp",
        "databaseReplicaPrivateIps",
        "edgeIp",
        "edgeNote",
        "imageRef",
        "platform",
        "url",
      ]);
      assert.equal(doc.outputs.platform, cfg.platform);
      assert.deepEqual(
        Object.keys(doc.outputs.databaseReplicaPrivateIps as object).sort(),
        Object.keys(cfg.database.replicas).sort(),
      );
    });

    it("has exactly the expected data-tier inventory", () => {
      dataTier(plan).expectCounts({
        [COMPONENT.apis]: 1,
        [COMPONENT.network]: 1,
        [COMPONENT.database]: 1,
        [COMPONENT.cache]: 1,
        [COMPONENT.image]: 1,
        [COMPONENT.storedSecret]: 5,
        [GCP_PROVIDER]: 1,
        "pulumi:providers:random": 1,
        "pulumi:providers:docker-build": 1,
        [T.apiService]: requiredApis().length,
        [T.network]: 1,
        [T.subnetwork]: 1,
        [T.globalAddress]: 1,
        [T.privateServiceConnection]: 1,
        [T.router]: 1,
        [T.routerNat]: 1,
        [T.sqlInstance]: 1 + Object.keys(cfg.database.replicas).length,
        [T.sqlDatabase]: 1,
        [T.sqlUser]: 1,
        [T.password]: 1,
        [T.redisInstance]: 1,
        [T.secret]: 5,
        [T.secretVersion]: 5,
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

describe("data-tier components: derived values, without Pulumi", () => {
  it("Network: the pinned range as GlobalAddress takes it", () => {
    assert.deepEqual(addressRange("10.16.0.0/20"), { address: "10.16.0.0", prefixLength: 20 });
    assert.throws(() => addressRange("10.16.0.1/20"), /not a canonical IPv4 CIDR/);
  });

  it("Database: the edition follows the tier", () => {
    assert.equal(editionOf("db-custom-1-3840"), "ENTERPRISE");
    assert.equal(editionOf("db-perf-optimized-N-8"), "ENTERPRISE_PLUS");
  });

  it("Database: URLs escape credentials and leave TLS to DATABASE_CA_CERT (no sslmode)", () => {
    const url = postgresUrl({
      user: "items_api",
      password: "p@ss/word",
      host: "10.1.2.3",
      database: "items",
    });
    assert.equal(url, "postgres://items_api:p%40ss%2Fword@10.1.2.3:5432/items");
    assert.doesNotMatch(url, /sslmode/);
    assert.equal(
      replicaUrlList([url, url.replace("10.1.2.3", "10.1.2.4")]),
      `${url},${url.replace("10.1.2.3", "10.1.2.4")}`,
    );
  });

  it("Cache: a TLS URL with the AUTH string", () => {
    assert.equal(
      redisUrl({ authString: "a+b/c", host: "10.0.0.3", port: 6378 }),
      "rediss://:a%2Bb%2Fc@10.0.0.3:6378",
    );
  });

  it("CA bundle: every server CA once, in order", () => {
    const current = "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----";
    const next = "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----";
    assert.equal(
      caBundle([{ cert: `${current}\n` }, { cert: next }, {}, { cert: current }]),
      `${current}\n${next}`,
    );
    assert.equal(caBundle(undefined), "");
  });

  it("StoredSecret: the secret id is the component's name and must be valid", () => {
    assert.equal(secretIdOf("items-db-url"), "items-db-url");
    assert.throws(() => secretIdOf("bad id"), /secret id/);
  });
});
