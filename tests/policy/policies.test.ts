// The policy pack against the real program: every policy runs on the resources of the offline plans
// (the program under mocks, with the stacks' own config files), built into the args the Pulumi
// engine passes (as pulumi-policy's own tests build them), and each policy reports a deep copy of a
// real resource with one property broken. Stack policies see plan inputs where the engine would
// pass outputs; for resources being created a preview's outputs are those inputs.
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

import type {
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
} from "@pulumi/policy";

import type { RunPlanOptions } from "../../plan/run";
import type { PlanDocument, PlanResource } from "../../plan/types";
import {
  capacityCoversTarget,
  cloudSqlBackupsAndPitr,
  cloudSqlNoPublicIp,
  cloudSqlSslRequired,
  gkeNodePoolAutoscaling,
  gkePrivateNodes,
  gkeWorkloadIdentity,
  LABELLABLE_TYPES,
  noDefaultComputeServiceAccount,
  noPlaintextSecretsInEnv,
  plaintextSecretProblem,
  policies,
  prodDataProtected,
  quotasCoverNeed,
  prodDeletionProtection,
  redisAuthAndTls,
  resourcesLabelled,
  TYPES,
} from "../../policy/policies";
import { stackPolicyConfig } from "../../policy/stack-policy-config";
import { stackConfig } from "../../lib/stack-files";
import { cachedPlans } from "../support/plans";

const SCENARIOS = {
  dev: { stack: "dev" },
  prod: { stack: "prod" },
  "dev on gke": { stack: "dev", overrides: { platform: "gke" } },
  "prod on cloudrun": { stack: "prod", overrides: { platform: "cloudrun" } },
} as const satisfies Record<string, RunPlanOptions>;
type Scenario = keyof typeof SCENARIOS;

/** One plan per scenario for the whole run: each is a child process running the program. */
const planOf = cachedPlans(SCENARIOS);

type Inputs = Record<string, unknown>;

class NotApplicable extends Error {}

/** What `isType`/`asType` compare, as in pulumi-policy: the class's static Pulumi type token. */
function pulumiTypeOf(resourceClass: unknown): unknown {
  return typeof resourceClass === "function" ? Reflect.get(resourceClass, "__pulumiType") : undefined;
}

function optionsOf(resource: PlanResource): PolicyResourceOptions {
  return {
    protect: resource.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(resource.parent ? { parent: resource.parent } : {}),
  };
}

/** The resource's provider as the engine passes it: type, name, URN and the provider's inputs. */
function providerOf(plan: PlanDocument, resource: PlanResource): PolicyProviderResource | undefined {
  if (!resource.provider) return undefined;
  const urn = resource.provider.slice(0, resource.provider.lastIndexOf("::"));
  const provider = plan.resources.find((candidate) => candidate.urn === urn);
  assert.ok(provider, `provider ${urn} of ${resource.urn} is in the plan`);
  return { type: provider.type, props: provider.inputs, urn, name: provider.name };
}

function resourceArgs(
  plan: PlanDocument,
  resource: PlanResource,
  config: object = {},
): ResourceValidationArgs {
  const props = resource.inputs;
  const provider = providerOf(plan, resource);
  return {
    type: resource.type,
    props,
    urn: resource.urn,
    name: resource.name,
    opts: optionsOf(resource),
    ...(provider ? { provider } : {}),
    stackTags: new Map(),
    isType: (resourceClass) => pulumiTypeOf(resourceClass) === resource.type,
    asType: (resourceClass) => (pulumiTypeOf(resourceClass) === resource.type ? props : undefined) as never,
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason) => {
      throw new NotApplicable(reason);
    },
  };
}

function stackArgs(
  plan: PlanDocument,
  resources: readonly PlanResource[],
  config: object,
): StackValidationArgs {
  const byUrn = new Map<string, PolicyResource>();
  const policyResources = resources.map((resource) => {
    const provider = providerOf(plan, resource);
    const policyResource: PolicyResource = {
      type: resource.type,
      props: resource.inputs,
      urn: resource.urn,
      name: resource.name,
      opts: optionsOf(resource),
      ...(provider ? { provider } : {}),
      dependencies: [],
      propertyDependencies: {},
      isType: (resourceClass) => pulumiTypeOf(resourceClass) === resource.type,
      asType: (resourceClass) =>
        (pulumiTypeOf(resourceClass) === resource.type ? resource.inputs : undefined) as never,
    };
    byUrn.set(resource.urn, policyResource);
    return policyResource;
  });
  for (const [index, resource] of resources.entries()) {
    const parent = resource.parent ? byUrn.get(resource.parent) : undefined;
    if (parent) policyResources[index].parent = parent;
    policyResources[index].dependencies = resource.dependsOn
      .map((urn) => byUrn.get(urn))
      .filter((dependency): dependency is PolicyResource => dependency !== undefined);
  }
  return {
    resources: policyResources,
    stackTags: new Map(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason) => {
      throw new NotApplicable(reason);
    },
  };
}

/** Runs a resource policy the way the engine does and returns the reported messages. */
async function resourceViolations(
  policy: ResourceValidationPolicy,
  args: ResourceValidationArgs,
): Promise<string[]> {
  const messages: string[] = [];
  for (const validate of [policy.validateResource ?? []].flat()) {
    await validate(args, (message) => messages.push(message));
  }
  return messages;
}

async function capacityViolations(
  plan: PlanDocument,
  resources: readonly PlanResource[] = plan.resources,
  config: object = { targetConcurrentRequests: plan.config.targetConcurrentRequests },
): Promise<string[]> {
  const messages: string[] = [];
  await capacityCoversTarget.validateStack(stackArgs(plan, resources, config), (message) =>
    messages.push(message),
  );
  return messages;
}

function resourcesOfType(plan: PlanDocument, type: string): PlanResource[] {
  return plan.resources.filter((resource) => resource.type === type);
}

function onlyResource(plan: PlanDocument, type: string, name?: string): PlanResource {
  const found = resourcesOfType(plan, type).filter(
    (resource) => name === undefined || resource.name === name,
  );
  assert.equal(found.length, 1, `${plan.stack} has one ${type} ${name ?? ""}`);
  return found[0];
}

function isContainer(value: unknown): value is Inputs {
  return typeof value === "object" && value !== null;
}

/** Sets (or with `undefined`, deletes) the value at a dotted path; array indexes are path steps. */
function setAt(root: Inputs, dottedPath: string, value: unknown): void {
  const keys = dottedPath.split(".");
  const last = keys.pop() ?? "";
  const parent = keys.reduce<unknown>((node, key) => (isContainer(node) ? node[key] : undefined), root);
  assert.ok(isContainer(parent), `${dottedPath} has a parent object`);
  if (value === undefined) delete parent[last];
  else parent[last] = value;
}

/** A deep copy of a real resource with its inputs changed by `edits` (path to value; undefined deletes). */
function variant(resource: PlanResource, edits: Record<string, unknown>): PlanResource {
  const inputs = structuredClone(resource.inputs);
  for (const [dottedPath, value] of Object.entries(edits)) setAt(inputs, dottedPath, value);
  return { ...resource, inputs };
}

function assertReports(messages: readonly string[], expected: RegExp): void {
  assert.equal(
    messages.length,
    1,
    `expected one violation matching ${expected}, got:\n${messages.join("\n")}`,
  );
  assert.match(messages[0], expected);
}

/** Types whose `labels` input is configuration, not resource labels (a channel's `email_address`). */
const CONFIGURATION_NAMED_LABELS = new Set(["gcp:monitoring/notificationChannel:NotificationChannel"]);

describe("policy pack on the offline plans", function () {
  // Four plans, each a child process running the program under mocks.
  this.timeout(240_000);

  before(async () => {
    await Promise.all((Object.keys(SCENARIOS) as Scenario[]).map(planOf));
  });

  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    it(`${scenario}: the real stack passes every policy`, async () => {
      const plan = await planOf(scenario);
      const found: string[] = [];
      for (const policy of policies) {
        if ("validateStack" in policy) continue;
        for (const resource of plan.resources) {
          for (const message of await resourceViolations(policy, resourceArgs(plan, resource))) {
            found.push(`${policy.name} on ${resource.name}: ${message}`);
          }
        }
      }
      found.push(
        ...(await capacityViolations(plan)).map((message) => `${capacityCoversTarget.name}: ${message}`),
      );
      assert.deepEqual(found, []);
    });
  }

  it("the pack holds every policy once, all mandatory", () => {
    const names = policies.map((policy) => policy.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names.length, 16); // 14 + the two edge policies
    for (const policy of policies) assert.equal(policy.enforcementLevel, "mandatory", policy.name);
  });

  it("CI's policy config carries each stack file's targetConcurrentRequests", async () => {
    for (const scenario of ["dev", "prod"] as const) {
      const plan = await planOf(scenario);
      assert.deepEqual(stackPolicyConfig(plan.stack), {
        [capacityCoversTarget.name]: { targetConcurrentRequests: plan.config.targetConcurrentRequests },
        [quotasCoverNeed.name]: stackConfig(plan.stack).quotas,
      });
    }
  });

  describe("quotas-cover-need", () => {
    async function quotaViolations(plan: PlanDocument, resources: readonly PlanResource[], config: object) {
      const messages: string[] = [];
      await quotasCoverNeed.validateStack(stackArgs(plan, resources, config), (message) =>
        messages.push(message),
      );
      return messages;
    }

    it("passes each scenario's stack with its own grants", async () => {
      for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
        const plan = await planOf(scenario);
        assert.deepEqual(
          await quotaViolations(plan, plan.resources, stackConfig(plan.stack).quotas),
          [],
          scenario,
        );
      }
    });

    it("reports a node pool that needs more CPUS than granted, naming need, grant and where to ask", async () => {
      const plan = await planOf("prod");
      const grants = stackConfig("prod").quotas;
      assertReports(
        await quotaViolations(plan, plan.resources, { ...grants, cpus: 24 }),
        new RegExp(
          // prod's pool at its maximum: maxNodes per zone x 3 zones x 4 vCPUs (e2-standard-4)
          `needs ${stackConfig("prod").gke.maxNodes * 3 * 4} CPUS in europe-west1, the project is granted 24: ` +
            "request an increase at Cloud console > IAM & Admin > Quotas",
        ),
      );
      // The same grants, with the registered pool grown past them.
      const pool = onlyResource(plan, TYPES.gkeNodePool);
      // One node per zone beyond what the grants hold: 3 zones x 4 vCPUs (e2-standard-4) and x 50 GB.
      const nodes = (Math.floor(Math.max(grants.cpus / (3 * 4), grants.ssdTotalGb / (3 * 50))) + 1) * 3;
      const grown = variant(pool, { "autoscaling.maxNodeCount": nodes / 3 });
      const messages = await quotaViolations(
        plan,
        plan.resources.map((r) => (r === pool ? grown : r)),
        grants,
      );
      assert.deepEqual(
        messages.map((m) => /needs (\d+) (\S+)/.exec(m)?.slice(1)),
        [
          [String(nodes * 4), "CPUS"],
          [String(nodes * 50), "SSD_TOTAL_GB"],
        ],
      );
    });

    it("reports a Cloud Run service above its instance grants, and missing grants", async () => {
      const plan = await planOf("prod on cloudrun");
      const grants = stackConfig("prod").quotas;
      const messages = await quotaViolations(plan, plan.resources, {
        ...grants,
        directVpcEgressInstances: 100,
      });
      assertReports(
        messages,
        /needs 417 Direct VPC egress instances per revision in europe-west1, the project is granted 100/,
      );
      assertReports(await quotaViolations(plan, plan.resources, {}), /needs policy config cpus, ssdTotalGb/);
    });
  });

  describe("cloudsql-no-public-ip", () => {
    it("reports a public IPv4 address, explicit or by default", async () => {
      const plan = await planOf("prod");
      const primary = onlyResource(plan, TYPES.sqlInstance, "items-db-primary");
      for (const ipv4Enabled of [true, undefined]) {
        const broken = variant(primary, { "settings.ipConfiguration.ipv4Enabled": ipv4Enabled });
        assertReports(
          await resourceViolations(cloudSqlNoPublicIp, resourceArgs(plan, broken)),
          /"items-db-primary" has settings\.ipConfiguration\.ipv4Enabled (true|unset)/,
        );
      }
    });
  });

  describe("cloudsql-ssl-required", () => {
    it("reports a replica that accepts unencrypted connections", async () => {
      const plan = await planOf("dev");
      const replica = onlyResource(plan, TYPES.sqlInstance, "items-db-replica-reads");
      const broken = variant(replica, {
        "settings.ipConfiguration.sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
      });
      assertReports(
        await resourceViolations(cloudSqlSslRequired, resourceArgs(plan, broken)),
        /sslMode "ALLOW_UNENCRYPTED_AND_ENCRYPTED"/,
      );
    });
  });

  describe("cloudsql-backups-and-pitr", () => {
    it("reports a primary without backups, and one without point-in-time recovery", async () => {
      const plan = await planOf("prod");
      const primary = onlyResource(plan, TYPES.sqlInstance, "items-db-primary");
      const withoutBackups = variant(primary, { "settings.backupConfiguration.enabled": false });
      assertReports(
        await resourceViolations(cloudSqlBackupsAndPitr, resourceArgs(plan, withoutBackups)),
        /backupConfiguration\.enabled false/,
      );
      const withoutPitr = variant(primary, {
        "settings.backupConfiguration.pointInTimeRecoveryEnabled": false,
      });
      assertReports(
        await resourceViolations(cloudSqlBackupsAndPitr, resourceArgs(plan, withoutPitr)),
        /pointInTimeRecoveryEnabled false/,
      );
    });

    it("exempts replicas, which Cloud SQL does not back up", async () => {
      const plan = await planOf("prod");
      const replica = onlyResource(plan, TYPES.sqlInstance, "items-db-replica-reads");
      assert.equal(
        (replica.inputs.settings as Inputs).backupConfiguration,
        undefined,
        "the replica has no backups",
      );
      assert.deepEqual(await resourceViolations(cloudSqlBackupsAndPitr, resourceArgs(plan, replica)), []);
    });
  });

  describe("prod-data-protected", () => {
    const dataTypes = [TYPES.sqlInstance, TYPES.redisInstance, TYPES.privateServiceConnection, TYPES.secret];

    it("passes the prod plan, whose data resources all carry protect", async () => {
      const prod = await planOf("prod");
      const data = dataTypes.flatMap((type) => resourcesOfType(prod, type));
      assert.ok(data.length >= 6, `${data.length} data resources`);
      for (const resource of data) {
        assert.deepEqual(
          await resourceViolations(prodDataProtected, resourceArgs(prod, resource)),
          [],
          resource.name,
        );
      }
    });

    it("reports each data resource of prod registered without protect", async () => {
      const prod = await planOf("prod");
      for (const resource of dataTypes.flatMap((type) => resourcesOfType(prod, type))) {
        assertReports(
          await resourceViolations(prodDataProtected, resourceArgs(prod, { ...resource, protect: false })),
          new RegExp(`"${resource.name}" in stack "prod" is not protected`),
        );
      }
    });

    it("leaves dev destroyable", async () => {
      const dev = await planOf("dev on gke");
      for (const resource of dataTypes.flatMap((type) => resourcesOfType(dev, type))) {
        assert.equal(resource.protect, false, resource.name);
        assert.deepEqual(await resourceViolations(prodDataProtected, resourceArgs(dev, resource)), []);
      }
    });
  });

  describe("prod-deletion-protection", () => {
    it("reports unprotected Cloud SQL, GKE and Cloud Run in prod", async () => {
      const prod = await planOf("prod");
      const primary = onlyResource(prod, TYPES.sqlInstance, "items-db-primary");
      for (const field of ["deletionProtection", "settings.deletionProtectionEnabled"]) {
        const broken = variant(primary, { [field]: false });
        assertReports(
          await resourceViolations(prodDeletionProtection, resourceArgs(prod, broken)),
          new RegExp(`"items-db-primary" in stack "prod" has ${field.replace(".", "\\.")} false`),
        );
      }
      const cluster = variant(onlyResource(prod, TYPES.gkeCluster), { deletionProtection: false });
      assertReports(
        await resourceViolations(prodDeletionProtection, resourceArgs(prod, cluster)),
        /deletionProtection false/,
      );
      const prodOnCloudRun = await planOf("prod on cloudrun");
      const service = variant(onlyResource(prodOnCloudRun, TYPES.cloudRunService), {
        deletionProtection: undefined,
      });
      assertReports(
        await resourceViolations(prodDeletionProtection, resourceArgs(prodOnCloudRun, service)),
        /deletionProtection unset/,
      );
    });

    it("leaves dev destroyable", async () => {
      const dev = await planOf("dev on gke");
      const unprotected = [TYPES.sqlInstance, TYPES.gkeCluster].flatMap((type) => resourcesOfType(dev, type));
      assert.ok(unprotected.length >= 3);
      for (const resource of unprotected) {
        assert.equal(resource.inputs.deletionProtection, false);
        assert.deepEqual(await resourceViolations(prodDeletionProtection, resourceArgs(dev, resource)), []);
      }
    });
  });

  describe("redis-auth-and-tls", () => {
    it("reports Redis without AUTH, and Redis without TLS", async () => {
      const plan = await planOf("prod");
      const redis = onlyResource(plan, TYPES.redisInstance);
      assertReports(
        await resourceViolations(redisAuthAndTls, resourceArgs(plan, variant(redis, { authEnabled: false }))),
        /authEnabled false/,
      );
      assertReports(
        await resourceViolations(
          redisAuthAndTls,
          resourceArgs(plan, variant(redis, { transitEncryptionMode: "DISABLED" })),
        ),
        /transitEncryptionMode "DISABLED"/,
      );
    });
  });

  describe("gke-private-nodes", () => {
    it("reports nodes with public IPs", async () => {
      const plan = await planOf("prod");
      const cluster = variant(onlyResource(plan, TYPES.gkeCluster), {
        "privateClusterConfig.enablePrivateNodes": false,
      });
      assertReports(
        await resourceViolations(gkePrivateNodes, resourceArgs(plan, cluster)),
        /enablePrivateNodes false/,
      );
    });
  });

  describe("gke-workload-identity", () => {
    it("reports a cluster without a workload pool and a node pool exposing the node's metadata", async () => {
      const plan = await planOf("dev on gke");
      const cluster = variant(onlyResource(plan, TYPES.gkeCluster), { workloadIdentityConfig: undefined });
      assertReports(
        await resourceViolations(gkeWorkloadIdentity, resourceArgs(plan, cluster)),
        /workloadPool unset/,
      );
      const pool = variant(onlyResource(plan, TYPES.gkeNodePool), {
        "nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA",
      });
      assertReports(
        await resourceViolations(gkeWorkloadIdentity, resourceArgs(plan, pool)),
        /mode "GCE_METADATA"/,
      );
    });
  });

  describe("gke-node-pool-autoscaling", () => {
    it("reports a node pool without autoscaling, and one whose maximum is below its minimum", async () => {
      const plan = await planOf("prod");
      const pool = onlyResource(plan, TYPES.gkeNodePool);
      assertReports(
        await resourceViolations(
          gkeNodePoolAutoscaling,
          resourceArgs(plan, variant(pool, { autoscaling: undefined })),
        ),
        /autoscaling unset/,
      );
      const inverted = variant(pool, { "autoscaling.minNodeCount": 5, "autoscaling.maxNodeCount": 2 });
      assertReports(
        await resourceViolations(gkeNodePoolAutoscaling, resourceArgs(plan, inverted)),
        /min <= max/,
      );
    });
  });

  describe("no-default-compute-service-account", () => {
    it("reports Cloud Run on the default compute account or on none", async () => {
      const plan = await planOf("dev");
      const service = onlyResource(plan, TYPES.cloudRunService);
      for (const account of ["123456789-compute@developer.gserviceaccount.com", undefined]) {
        const broken = variant(service, { "template.serviceAccount": account });
        assertReports(
          await resourceViolations(noDefaultComputeServiceAccount, resourceArgs(plan, broken)),
          /template\.serviceAccount .* default compute service account/,
        );
      }
    });

    it("reports GKE nodes on the default account", async () => {
      const plan = await planOf("prod");
      const pool = variant(onlyResource(plan, TYPES.gkeNodePool), { "nodeConfig.serviceAccount": "default" });
      assertReports(
        await resourceViolations(noDefaultComputeServiceAccount, resourceArgs(plan, pool)),
        /nodeConfig\.serviceAccount "default"/,
      );
    });
  });

  describe("no-plaintext-secrets-in-env", () => {
    it("reports a Cloud Run DATABASE_URL given as a plain value instead of a Secret Manager reference", async () => {
      const plan = await planOf("dev");
      const service = onlyResource(plan, TYPES.cloudRunService);
      const envs = (service.inputs.template as { containers: { envs: { name: string }[] }[] }).containers[0]
        .envs;
      const index = envs.findIndex((env) => env.name === "DATABASE_URL");
      assert.ok(index >= 0);
      const broken = variant(service, {
        [`template.containers.0.envs.${index}`]: {
          name: "DATABASE_URL",
          value: "postgresql://items_api:hunter2hunter2@10.20.0.3:5432/items?sslmode=require",
        },
      });
      assertReports(
        await resourceViolations(noPlaintextSecretsInEnv, resourceArgs(plan, broken)),
        /env DATABASE_URL holds a URL with a password in plain text/,
      );
    });

    it("reports a Kubernetes container with a plain REDIS_PASSWORD", async () => {
      const plan = await planOf("prod");
      const deployment = onlyResource(plan, TYPES.deployment);
      const containers = (
        deployment.inputs.spec as { template: { spec: { containers: { env: unknown[] }[] } } }
      ).template.spec.containers;
      const broken = variant(deployment, {
        "spec.template.spec.containers.0.env": [
          ...containers[0].env,
          { name: "REDIS_PASSWORD", value: "correct-horse-battery" },
        ],
      });
      assertReports(
        await resourceViolations(noPlaintextSecretsInEnv, resourceArgs(plan, broken)),
        /container "api": env REDIS_PASSWORD looks like a credential/,
      );
    });

    it("tells credentials from ordinary settings", () => {
      const leaks: [string, string][] = [
        ["REDIS_URL", "rediss://:s3cret@10.0.0.4:6378"],
        ["DSN", "postgres://app:pw@db/items"],
        ["API_KEY", "abc"],
        ["GITHUB_TOKEN", "ghp_x"],
        ["db_password", "x"],
      ];
      for (const [name, value] of leaks) assert.ok(plaintextSecretProblem(name, value), `${name}=${value}`);
      const fine: [string, unknown][] = [
        ["DATABASE_URL", "postgres://items_api@10.0.0.3/items"],
        ["REDIS_URL", "rediss://10.0.0.4:6378"],
        ["MAX_IN_FLIGHT", "1000"],
        ["NODE_OPTIONS", "--max-old-space-size=768"],
        ["MONKEY_BUSINESS", "x"],
        ["API_KEY", ""],
        ["API_KEY", undefined],
      ];
      for (const [name, value] of fine)
        assert.equal(plaintextSecretProblem(name, value), undefined, `${name}=${String(value)}`);
    });
  });

  describe("resources-labelled", () => {
    it("reports every provider-labelled resource when the provider loses its defaultLabels", async () => {
      const plan = await planOf("prod");
      const provider = onlyResource(plan, "pulumi:providers:gcp");
      const bare = variant(provider, { defaultLabels: undefined });
      const withoutDefaults: PlanDocument = {
        ...plan,
        resources: plan.resources.map((resource) => (resource === provider ? bare : resource)),
      };
      const relying = plan.resources.filter(
        (resource) => LABELLABLE_TYPES[resource.type]?.providerDefaultLabels,
      );
      assert.ok(relying.length >= 8, `${relying.length} resources take the provider's labels`);
      for (const resource of relying) {
        assertReports(
          await resourceViolations(resourcesLabelled, resourceArgs(withoutDefaults, resource)),
          new RegExp(`"${resource.name}" is missing app=items-api, stack=prod`),
        );
      }
    });

    it("reports a resource labelled for another stack, even if its own labels are set", async () => {
      const plan = await planOf("prod");
      const secret = onlyResource(plan, "gcp:secretmanager/secret:Secret", "items-db-url");
      const mislabelled = variant(secret, { labels: { component: "database", stack: "dev" } });
      assertReports(
        await resourceViolations(resourcesLabelled, resourceArgs(plan, mislabelled)),
        /missing stack=prod/,
      );
    });

    it("requires Cloud SQL to carry the labels itself (the provider's defaultLabels do not reach settings.userLabels)", async () => {
      const plan = await planOf("prod");
      const primary = onlyResource(plan, TYPES.sqlInstance, "items-db-primary");
      const unlabelled = variant(primary, { "settings.userLabels": undefined });
      assertReports(
        await resourceViolations(resourcesLabelled, resourceArgs(plan, unlabelled)),
        /"items-db-primary" is missing app=items-api, stack=prod .*its own labels/,
      );
    });

    it("covers every labellable GCP type in the plans, as @pulumi/gcp's type definitions describe them", async () => {
      const gcpRoot = path.dirname(require.resolve("@pulumi/gcp/package.json"));
      const types = new Set<string>();
      for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
        for (const resource of (await planOf(scenario)).resources) {
          if (resource.type.startsWith("gcp:") && !resource.type.startsWith("gcp:gcp:"))
            types.add(resource.type);
        }
      }
      for (const type of [...types, ...Object.keys(LABELLABLE_TYPES)]) {
        const [, module, className] = /^gcp:([a-z0-9]+)\/[A-Za-z0-9]+:([A-Za-z0-9]+)$/.exec(type) ?? [];
        assert.ok(module && className, type);
        // Module files are not always named after the token (iAMMember -> iammember.js): find the class.
        const moduleDir = path.join(gcpRoot, module);
        const implementation = readdirSync(moduleDir).find(
          (file) =>
            file.endsWith(".js") &&
            readFileSync(path.join(moduleDir, file), "utf8").includes(`__pulumiType = '${type}'`),
        );
        assert.ok(implementation, `@pulumi/gcp defines ${type}`);
        const declarations = readFileSync(
          path.join(moduleDir, implementation.replace(/\.js$/, ".d.ts")),
          "utf8",
        );
        const argsBlock =
          new RegExp(`export interface ${className}Args \\{([\\s\\S]*?)\\n\\}`).exec(declarations)?.[1] ?? "";
        const hasLabels =
          (/^\s{4}(labels|resourceLabels)\?:/m.test(argsBlock) && !CONFIGURATION_NAMED_LABELS.has(type)) ||
          type === TYPES.sqlInstance;
        const takesProviderDefaults = /readonly pulumiLabels:/.test(declarations);
        assert.deepEqual(
          LABELLABLE_TYPES[type] ?? null,
          hasLabels ? { providerDefaultLabels: takesProviderDefaults } : null,
          `${type}: labels ${hasLabels}, provider default labels ${takesProviderDefaults}`,
        );
      }
    });
  });

  describe("capacity-covers-target", () => {
    it("reports an HPA whose maxReplicas x MAX_IN_FLIGHT is below the target", async () => {
      const plan = await planOf("prod");
      const hpa = onlyResource(plan, TYPES.horizontalPodAutoscaler);
      const deployment = onlyResource(plan, TYPES.deployment);
      const small = plan.resources.map((resource) =>
        resource === hpa ? variant(hpa, { "spec.maxReplicas": 10 }) : resource,
      );
      const { maxInFlight } = stackConfig("prod").app;
      assertReports(
        await capacityViolations(plan, small),
        new RegExp(
          `Capacity ${10 * maxInFlight} < targetConcurrentRequests 50000 \\(GKE "${deployment.name}" 10 replicas x MAX_IN_FLIGHT ${maxInFlight} = ${10 * maxInFlight}\\)`,
        ),
      );
    });

    it("reports a Cloud Run service whose instances x concurrency is below the target", async () => {
      const plan = await planOf("dev");
      const service = onlyResource(plan, TYPES.cloudRunService);
      const small = plan.resources.map((resource) =>
        resource === service ? variant(service, { "template.scaling.maxInstanceCount": 2 }) : resource,
      );
      assertReports(await capacityViolations(plan, small), /Capacity 500 < targetConcurrentRequests 2000/);
    });

    it("reports a target above what the real stack can hold", async () => {
      const plan = await planOf("prod on cloudrun");
      const { maxInstances, concurrency } = stackConfig("prod").cloudrun;
      const capacity = maxInstances * concurrency;
      assertReports(
        await capacityViolations(plan, plan.resources, { targetConcurrentRequests: capacity + 1 }),
        new RegExp(
          `Capacity ${capacity} < targetConcurrentRequests ${capacity + 1} \\(Cloud Run "items-api" ${maxInstances} instances x ${concurrency}`,
        ),
      );
    });

    it("reports a pod without MAX_IN_FLIGHT, a stack without a serving workload, and a missing target", async () => {
      const plan = await planOf("dev on gke");
      const deployment = onlyResource(plan, TYPES.deployment);
      const env = (
        deployment.inputs.spec as { template: { spec: { containers: { env: { name: string }[] }[] } } }
      ).template.spec.containers[0].env;
      const withoutLimit = plan.resources.map((resource) =>
        resource === deployment
          ? variant(deployment, {
              "spec.template.spec.containers.0.env": env.filter(
                (variable) => variable.name !== "MAX_IN_FLIGHT",
              ),
            })
          : resource,
      );
      assertReports(
        await capacityViolations(plan, withoutLimit),
        /MAX_IN_FLIGHT \(unset\) must both be positive integers/,
      );
      const unserved = plan.resources.filter((resource) => resource.type !== TYPES.horizontalPodAutoscaler);
      assertReports(
        await capacityViolations(plan, unserved),
        /no Cloud Run service and no HorizontalPodAutoscaler/,
      );
      assertReports(
        await capacityViolations(plan, plan.resources, {}),
        /needs policy config targetConcurrentRequests/,
      );
    });
  });
});
