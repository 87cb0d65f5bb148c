import * as assert from "node:assert/strict";

import { CLOUD_RUN_SIGKILL_AFTER_MS, nodeOptionsFor } from "../../components/workload/api-environment";
import { parseStackConfig, StackConfigError } from "../../config";
import type { PlanDocument } from "../../plan/types";
import { Inventory, planOf, SECRET, T, type PlannedResource } from "./inventory";
import { rawStackConfig, stackConfig, STACKS } from "../../lib/stack-files";
import { SECRET_ENV } from "../support/secret-env";

const COMPONENT = "items-api:gcp:CloudRunService";
const K = {
  service: "gcp:cloudrunv2/service:Service",
  invoker: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  account: "gcp:serviceaccount/account:Account",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
} as const;

interface EnvEntry {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef?: { secret: string; version: string } };
}
interface Template {
  serviceAccount: string;
  containers: { envs: EnvEntry[]; [key: string]: unknown }[];
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

    it("reads the five secrets from Secret Manager at a pinned version, never from a plain value", () => {
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

    // Organisations created since 2024 enforce domain-restricted sharing, which refuses an allUsers
    // member. The edge's serverless NEG sends no credentials, so the service turns the invoker check
    // off and admits only internal and load-balancer traffic instead.
    it("admits only the edge, with invokerIamDisabled and never an allUsers member", () => {
      assert.deepEqual(under(plan, K.invoker), []);
      assert.equal(serviceOf(plan).inputs.invokerIamDisabled, true);
      assert.equal(serviceOf(plan).inputs.ingress, "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
      const everyone = plan.resources.filter((resource) =>
        /"all(Authenticated)?Users"/.test(JSON.stringify(resource.inputs)),
      );
      assert.deepEqual(
        everyone.map((resource) => resource.urn),
        [],
      );
    });

    // Direct VPC egress can take a minute or more to connect when an instance starts; /readyz fails
    // until the database answers, so the probe must allow Cloud Run's longest startup window.
    it("gives /readyz Cloud Run's full 240 s startup window", () => {
      const probe = serviceOf(plan).inputs.template.containers[0].startupProbe as {
        initialDelaySeconds?: number;
        periodSeconds: number;
        failureThreshold: number;
      };
      assert.equal((probe.initialDelaySeconds ?? 0) + probe.periodSeconds * probe.failureThreshold, 240);
    });

    it("creates no GKE or Kubernetes resource", () => {
      const gke = plan.resources.filter(
        (resource) =>
          resource.type.startsWith("gcp:container/") ||
          resource.type.startsWith("kubernetes:") ||
          resource.type === "pulumi:providers:kubernetes" ||
          resource.type.startsWith("items-api:gcp:Gke"),
      );
      assert.deepEqual(
        gke.map((resource) => resource.urn),
        [],
      );
    });
  });
}

describe("Cloud Run settings (config.ts owns their defaults and rules)", () => {
  const devWithCloudRun = (fields: Record<string, unknown>) => ({
    ...rawStackConfig("dev"),
    "items-api:cloudrun": JSON.stringify(fields),
  });

  it("defaults to one warm instance and Cloud Run's own concurrency, within the API's in-flight limit", () => {
    const { cloudrun, app, targetConcurrentRequests } = parseStackConfig({
      ...rawStackConfig("dev"),
      "items-api:cloudrun": undefined,
      "items-api:database": undefined,
    });
    assert.deepEqual(cloudrun, {
      minInstances: 1,
      maxInstances: 100,
      concurrency: 80,
      startupCpuBoost: true,
    });
    assert.ok(cloudrun.maxInstances * cloudrun.concurrency >= targetConcurrentRequests);
    assert.ok(cloudrun.concurrency <= app.maxInFlight);
  });

  it("rejects bad values naming the key", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ minInstances: -1 }, "items-api:cloudrun.minInstances"],
      [{ minInstances: 11, maxInstances: 10 }, "items-api:cloudrun.minInstances"],
      [{ concurrency: 0 }, "items-api:cloudrun.concurrency"],
      [{ concurrency: 1001 }, "items-api:cloudrun.concurrency"],
    ];
    for (const [fields, key] of cases) {
      assert.throws(
        () => parseStackConfig(devWithCloudRun(fields)),
        (error: unknown) => error instanceof StackConfigError && error.key === key,
        `${JSON.stringify(fields)} should be rejected as ${key}`,
      );
    }
  });
});
