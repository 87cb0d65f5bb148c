import * as assert from "node:assert/strict";

import { CLOUD_RUN_SIGKILL_AFTER_MS, nodeOptionsFor } from "../../components/workload/api-environment";
import { resolveCloudRunServiceArgs, type CloudRunServiceSettings } from "../../components/cloudrun/service";
import type { PlanDocument } from "../../plan/types";
import { Inventory, planOf, SECRET, T, type PlannedResource } from "./inventory";
import { stackConfig, STACKS } from "../../lib/stack-files";
import { APP_SETTINGS } from "./app-settings";

const COMPONENT = "gcp-async-api:gcp:CloudRunService";
const K = {
  service: "gcp:cloudrunv2/service:Service",
  invoker: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  account: "gcp:serviceaccount/account:Account",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
} as const;
const SECRET_ENV = ["DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "REDIS_CA_CERT"];

interface EnvEntry {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef?: { secret: string; version: string } };
}
interface Template {
  serviceAccount: string;
  containers: { envs: EnvEntry[] }[];
  [key: string]: unknown;
}

/** Resources of `type` inside the Cloud Run component's subtree. */
function under(plan: Inventory, type: string): PlannedResource[] {
  return plan.under(COMPONENT).filter((resource) => resource.type === type);
}

function serviceOf(plan: Inventory): PlannedResource & { inputs: { template: Template } } {
  const services = under(plan, K.service);
  assert.equal(services.length, 1, `expected one Cloud Run service, found ${services.length}`);
  return services[0] as PlannedResource & { inputs: { template: Template } };
}

for (const stack of STACKS) {
  describe(`Cloud Run platform of the ${stack} stack`, () => {
    const cfg = stackConfig(stack);
    const { project, region } = cfg.gcp;
    let doc: PlanDocument;
    let plan: Inventory;

    before(async function () {
      this.timeout(180_000);
      doc = await planOf(stack, { platform: "cloudrun" });
      plan = new Inventory(doc.resources);
    });

    it("runs a gen2 service scaled, sized and probed as the stack says", () => {
      const service = serviceOf(plan);
      plan.expectInputs(K.service, service.name, {
        project,
        location: region,
        ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
        deletionProtection: cfg.deletionProtection,
        template: {
          executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
          maxInstanceRequestConcurrency: cfg.cloudrun.concurrency,
          scaling: {
            minInstanceCount: cfg.cloudrun.minInstances,
            maxInstanceCount: cfg.cloudrun.maxInstances,
          },
          containers: [
            {
              ports: { containerPort: 8080 },
              resources: {
                limits: { cpu: cfg.app.cpu, memory: cfg.app.memory },
                startupCpuBoost: cfg.cloudrun.startupCpuBoost,
              },
              startupProbe: { httpGet: { path: "/readyz" } },
              livenessProbe: { httpGet: { path: "/healthz" } },
            },
          ],
        },
      });
      // The public URL is the edge's; run.app admits only the load balancer.
      assert.doesNotMatch(String(doc.outputs.url), /run\.app/);
    });

    it("reaches Cloud SQL and Memorystore through Direct VPC egress for private ranges only", () => {
      const service = serviceOf(plan);
      const [network] = plan.all(T.network);
      const [subnetwork] = plan.all(T.subnetwork);
      const vpcAccess = service.inputs.template.vpcAccess as {
        egress: string;
        networkInterfaces: { network: string; subnetwork: string }[];
      };
      assert.equal(vpcAccess.egress, "PRIVATE_RANGES_ONLY");
      assert.equal(vpcAccess.networkInterfaces.length, 1);
      assert.ok(!("connector" in vpcAccess), "Direct VPC egress needs no Serverless VPC Access connector");
      plan.expectDependsOn(service, [network, subnetwork]);
    });

    it("runs as its own service account with only log, metric, trace and per-secret access", () => {
      const service = serviceOf(plan);
      const email = service.inputs.template.serviceAccount;
      assert.ok(email, "no service account: Cloud Run would use the default compute account");
      assert.doesNotMatch(email, /-compute@developer\.gserviceaccount\.com$/);
      assert.equal(under(plan, K.account).length, 1);
      const member = `serviceAccount:${email}`;
      const projectGrants = plan.all(K.projectIam).filter((grant) => grant.inputs.member === member);
      assert.deepEqual(projectGrants.map((grant) => grant.inputs.role).sort(), [
        "roles/cloudtrace.agent",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
      ]);
      const secretGrants = plan.all(K.secretIam).filter((grant) => grant.inputs.member === member);
      const referenced = service.inputs.template.containers[0].envs
        .map((entry) => entry.valueSource?.secretKeyRef?.secret)
        .filter((secret): secret is string => secret !== undefined);
      assert.deepEqual(secretGrants.map((grant) => grant.inputs.secretId).sort(), [...referenced].sort());
      for (const grant of secretGrants) assert.equal(grant.inputs.role, "roles/secretmanager.secretAccessor");
      // A revision that cannot read its secrets fails to start: every grant comes first.
      plan.expectDependsOn(service, [...projectGrants, ...secretGrants]);
    });

    it("reads the four secrets from Secret Manager at a pinned version, never from a plain value", () => {
      const { envs } = serviceOf(plan).inputs.template.containers[0];
      const bySecret = envs.filter((entry) => entry.valueSource?.secretKeyRef);
      assert.deepEqual(
        bySecret.map((entry) => entry.name),
        SECRET_ENV,
      );
      for (const entry of bySecret) {
        assert.equal(entry.value, undefined, `${entry.name} has a plain value too`);
        assert.match(
          String(entry.valueSource?.secretKeyRef?.version),
          /^\d+$/,
          `${entry.name} is not pinned`,
        );
      }
      const plain = Object.fromEntries(
        envs.filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value]),
      );
      assert.ok(!Object.values(plain).includes(SECRET), "a secret ended up in a plain env value");
      assert.ok(!("PORT" in plain), "Cloud Run reserves PORT");
      assert.deepEqual(
        [
          plain.DATABASE_POOL_MAX,
          plain.MAX_IN_FLIGHT,
          plain.LOG_LEVEL,
          plain.GOOGLE_CLOUD_PROJECT,
          plain.NODE_OPTIONS,
        ],
        [
          String(cfg.app.poolMax),
          String(cfg.app.maxInFlight),
          cfg.app.logLevel,
          project,
          nodeOptionsFor(cfg.app.memory),
        ],
      );
      const shutdownMs = Number(plain.SHUTDOWN_DRAIN_MS) + Number(plain.SHUTDOWN_GRACE_MS);
      assert.ok(shutdownMs < CLOUD_RUN_SIGKILL_AFTER_MS, `drain + grace ${shutdownMs} ms reach SIGKILL`);
    });

    it("lets everyone invoke the service exactly when publicInvoker is set", () => {
      const invokers = under(plan, K.invoker);
      const expected = cfg.cloudrun.publicInvoker ? [["roles/run.invoker", "allUsers"]] : [];
      assert.deepEqual(
        invokers.map((binding) => [binding.inputs.role, binding.inputs.member]),
        expected,
      );
      if (invokers.length > 0) plan.expectDependsOn(invokers[0], [serviceOf(plan)]);
    });

    it("creates no GKE or Kubernetes resource", () => {
      const gke = plan.resources.filter(
        (resource) =>
          resource.type.startsWith("gcp:container/") ||
          resource.type.startsWith("kubernetes:") ||
          resource.type === "pulumi:providers:kubernetes" ||
          resource.type.startsWith("gcp-async-api:gcp:Gke"),
      );
      assert.deepEqual(
        gke.map((resource) => resource.urn),
        [],
      );
    });
  });
}

describe("Cloud Run invoker binding", () => {
  it("is absent when publicInvoker is off, leaving invocation to IAM-authorised callers", async function () {
    this.timeout(180_000);
    const doc = await planOf("dev", { platform: "cloudrun", "cloudrun.publicInvoker": "false" });
    const plan = new Inventory(doc.resources);
    assert.equal(
      (doc.config.cloudrun as { publicInvoker: unknown }).publicInvoker,
      false,
      "override not applied",
    );
    assert.deepEqual(under(plan, K.invoker), []);
    assert.equal(serviceOf(plan).inputs.ingress, "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
  });
});

describe("resolveCloudRunServiceArgs", () => {
  const base: CloudRunServiceSettings = {
    project: "acme",
    region: "europe-west1",
    app: APP_SETTINGS,
  };

  it("defaults to Cloud Run's concurrency, one warm instance, a private service and deletion protection", () => {
    assert.deepEqual(resolveCloudRunServiceArgs(base), {
      minInstances: 1,
      maxInstances: 100,
      concurrency: 80,
      publicInvoker: false,
      startupCpuBoost: true,
      deletionProtection: true,
    });
  });

  it("rejects bad values naming the field", () => {
    const cases: [Partial<CloudRunServiceSettings>, RegExp][] = [
      [{ minInstances: -1 }, /`minInstances`/],
      [{ minInstances: 5, maxInstances: 4 }, /`maxInstances`.*`minInstances`/],
      [{ concurrency: 0 }, /`concurrency`/],
      [{ concurrency: 1001 }, /`concurrency`/],
      [{ concurrency: 10, app: { ...base.app, cpu: "500m" } }, /`concurrency`.*`app.cpu`/],
      [{ app: { ...base.app, memory: "256Mi" } }, /`app.memory`/],
    ];
    for (const [override, message] of cases) {
      assert.throws(
        () => resolveCloudRunServiceArgs({ ...base, ...override }),
        message,
        JSON.stringify(override),
      );
    }
    assert.equal(
      resolveCloudRunServiceArgs({ ...base, concurrency: 1, app: { ...base.app, cpu: "500m" } }).concurrency,
      1,
    );
  });
});
