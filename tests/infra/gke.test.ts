import * as assert from "node:assert/strict";

import { nodeOptionsFor } from "../../components/workload/api-environment";
import { clusterLocation, gkeKubeconfig, NODE_SERVICE_ACCOUNT_ROLES } from "../../components/gke/cluster";
import { shutdownSeconds } from "../../components/gke/workload";
import { parseStackConfig, StackConfigError } from "../../config";
import type { PlanDocument } from "../../plan/types";
import { Inventory, planOf, SECRET, T, type PlannedResource } from "./inventory";
import { rawStackConfig, stackConfig, STACKS } from "../../lib/stack-files";
import { APP_SETTINGS } from "./app-settings";
import { SECRET_ENV } from "../support/secret-env";

const COMPONENT = { cluster: "items-api:gcp:GkeCluster", workload: "items-api:gcp:GkeWorkload" };
const K = {
  cluster: "gcp:container/cluster:Cluster",
  nodePool: "gcp:container/nodePool:NodePool",
  account: "gcp:serviceaccount/account:Account",
  projectIam: "gcp:projects/iAMMember:IAMMember",
  secretIam: "gcp:secretmanager/secretIamMember:SecretIamMember",
  accountIam: "gcp:serviceaccount/iAMMember:IAMMember",
  provider: "pulumi:providers:kubernetes",
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  secret: "kubernetes:core/v1:Secret",
  deployment: "kubernetes:apps/v1:Deployment",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  service: "kubernetes:core/v1:Service",
  backendConfig: "kubernetes:cloud.google.com/v1:BackendConfig",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
} as const;

type Json = Record<string, unknown>;
interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface ContainerInputs {
  env: EnvEntry[];
  lifecycle: { preStop: { sleep: { seconds: number } } };
  [key: string]: unknown;
}

/** The one resource of `type` inside `component`'s subtree; fails naming what the subtree holds. */
function only(plan: Inventory, component: string, type: string): PlannedResource {
  const matches = plan.under(component).filter((resource) => resource.type === type);
  assert.equal(
    matches.length,
    1,
    `expected one ${type} under ${component}, found: ${JSON.stringify(
      matches.map((r) => r.urn),
      null,
      2,
    )}`,
  );
  return matches[0];
}

function podLabelsOf(deployment: PlannedResource): Record<string, string> {
  return (deployment.inputs.spec as { template: { metadata: { labels: Record<string, string> } } }).template
    .metadata.labels;
}

function podSpecOf(deployment: PlannedResource): Json & { containers: ContainerInputs[] } {
  const spec = deployment.inputs.spec as { template: { spec: Json & { containers: ContainerInputs[] } } };
  return spec.template.spec;
}

for (const stack of STACKS) {
  describe(`GKE platform of the ${stack} stack`, () => {
    const cfg = stackConfig(stack);
    const { project, region } = cfg.gcp;
    let doc: PlanDocument;
    let plan: Inventory;

    before(async function () {
      this.timeout(180_000);
      doc = await planOf(stack, { platform: "gke" });
      plan = new Inventory(doc.resources);
    });

    it("runs a private, VPC-native Standard cluster with Workload Identity, Dataplane V2 and shielded nodes", () => {
      const cluster = only(plan, COMPONENT.cluster, K.cluster);
      const subnets = plan.all(T.subnetwork);
      assert.equal(subnets.length, 1, "one subnet expected");
      const subnet = subnets[0].inputs as { secondaryIpRanges: { rangeName: string }[] };
      assert.deepStrictEqual(
        {
          location: cluster.inputs.location,
          removeDefaultNodePool: cluster.inputs.removeDefaultNodePool,
          initialNodeCount: cluster.inputs.initialNodeCount,
          networkingMode: cluster.inputs.networkingMode,
          ipAllocationPolicy: cluster.inputs.ipAllocationPolicy,
          enablePrivateNodes: (cluster.inputs.privateClusterConfig as Json).enablePrivateNodes,
          workloadIdentityConfig: cluster.inputs.workloadIdentityConfig,
          releaseChannel: cluster.inputs.releaseChannel,
          datapathProvider: cluster.inputs.datapathProvider,
          enableShieldedNodes: cluster.inputs.enableShieldedNodes,
          clusterAutoscaling: cluster.inputs.clusterAutoscaling,
          deletionProtection: cluster.inputs.deletionProtection,
          httpLoadBalancing: (cluster.inputs.addonsConfig as Json).httpLoadBalancing,
          managedPrometheus: (cluster.inputs.monitoringConfig as Json).managedPrometheus,
        },
        {
          location: cfg.gke.regional ? region : `${region}-b`,
          removeDefaultNodePool: true,
          initialNodeCount: 1,
          networkingMode: "VPC_NATIVE",
          ipAllocationPolicy: {
            clusterSecondaryRangeName: subnet.secondaryIpRanges[0].rangeName,
            servicesSecondaryRangeName: subnet.secondaryIpRanges[1].rangeName,
          },
          enablePrivateNodes: true,
          workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },
          releaseChannel: { channel: cfg.gke.releaseChannel },
          datapathProvider: "ADVANCED_DATAPATH",
          enableShieldedNodes: true,
          clusterAutoscaling: { enabled: false, autoscalingProfile: "OPTIMIZE_UTILIZATION" },
          deletionProtection: cfg.deletionProtection,
          httpLoadBalancing: { disabled: false },
          managedPrometheus: { enabled: true },
        },
        `cluster inputs:\n${JSON.stringify(cluster.inputs, null, 2)}`,
      );
      // The default pool exists for minutes before removal; without its own account its node would
      // run as the Compute Engine default service account (Editor on the project in older projects).
      const pool = only(plan, COMPONENT.cluster, K.nodePool);
      const nodeAccount = (pool.inputs.nodeConfig as Json).serviceAccount;
      assert.match(String(nodeAccount), /@.+\.iam\.gserviceaccount\.com$/);
      assert.equal(
        (cluster.inputs.nodeConfig as Json | undefined)?.serviceAccount,
        nodeAccount,
        "the default node pool's service account",
      );
      plan.expectDependsOn(cluster, [only(plan, COMPONENT.cluster, K.account)]);
      for (const replacing of ["nodePools", "minMasterVersion"]) {
        assert.ok(!(replacing in cluster.inputs), `the cluster sets ${replacing}`);
      }
      assert.match(
        (cluster.inputs.maintenancePolicy as { dailyMaintenanceWindow: { startTime: string } })
          .dailyMaintenanceWindow.startTime,
        /^0[0-5]:\d\d$/,
        "maintenance must start at night (UTC)",
      );
    });

    it("autoscales one auto-named node pool within the configured bounds without losing capacity", () => {
      const pool = only(plan, COMPONENT.cluster, K.nodePool);
      const expected = {
        autoscaling: { minNodeCount: cfg.gke.minNodes, maxNodeCount: cfg.gke.maxNodes },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { maxUnavailable: 0, maxSurge: 1 },
        nodeConfig: {
          machineType: cfg.gke.machineType,
          oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          workloadMetadataConfig: { mode: "GKE_METADATA" },
        },
      };
      plan.expectInputs(K.nodePool, pool.name, expected);
      assert.ok(!("name" in pool.inputs), "a fixed pool name would turn replacement into delete-then-create");
      plan.expectDependsOn(pool, [only(plan, COMPONENT.cluster, K.cluster)]);
    });

    it("gives the nodes their own service account holding exactly the two node roles", () => {
      const pool = only(plan, COMPONENT.cluster, K.nodePool);
      const email = (pool.inputs.nodeConfig as { serviceAccount: string }).serviceAccount;
      assert.doesNotMatch(email, /-compute@developer\.gserviceaccount\.com$/);
      const grants = plan
        .all(K.projectIam)
        .filter((grant) => grant.inputs.member === `serviceAccount:${email}`);
      assert.deepEqual(
        grants.map((grant) => grant.inputs.role).sort(),
        [...NODE_SERVICE_ACCOUNT_ROLES].sort(),
      );
      plan.expectDependsOn(pool, grants);
    });

    it("reaches the cluster through one Kubernetes provider that only a cluster replacement replaces", () => {
      const provider = only(plan, COMPONENT.cluster, K.provider);
      const cluster = only(plan, COMPONENT.cluster, K.cluster);
      assert.equal(provider.inputs.kubeconfig, SECRET);
      assert.match(String(provider.inputs.clusterIdentifier), /^projects\/.+\/clusters\/.+$/);
      plan.expectDependsOn(provider, [cluster, only(plan, COMPONENT.cluster, K.nodePool)]);
      const strays = plan.resources
        .filter((resource) => resource.type.startsWith("kubernetes:"))
        .filter((resource) => !resource.provider?.startsWith(`${provider.urn}::`));
      assert.deepEqual(
        strays.map((resource) => resource.urn),
        [],
        "Kubernetes objects outside the cluster provider",
      );
    });

    it("runs the API with probes, a preStop sleep and a grace period longer than the whole shutdown", () => {
      const deployment = only(plan, COMPONENT.workload, K.deployment);
      const pod = podSpecOf(deployment);
      const [container] = pod.containers;
      const env = Object.fromEntries(container.env.map((entry) => [entry.name, entry.value]));
      const preStop = container.lifecycle.preStop.sleep.seconds;
      const drainAndGrace = (Number(env.SHUTDOWN_DRAIN_MS) + Number(env.SHUTDOWN_GRACE_MS)) / 1000;
      assert.ok(preStop >= 10 && preStop <= 15, `preStop sleep ${preStop}s`);
      assert.ok(
        Number(pod.terminationGracePeriodSeconds) > preStop + drainAndGrace,
        `terminationGracePeriodSeconds ${String(pod.terminationGracePeriodSeconds)} <= ${preStop} + ${drainAndGrace}`,
      );
      assert.equal(pod.containers.length, 1, "one Node.js process per pod");
      plan.expectInputs(K.deployment, deployment.name, {
        spec: {
          // A bounded surge: at peak the rollout needs maxReplicas + maxSurge pods in the node pool.
          strategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxUnavailable: 0, maxSurge: cfg.gke.rolloutMaxSurge },
          },
          template: {
            spec: {
              securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  resources: {
                    requests: { cpu: cfg.app.cpu, memory: cfg.app.memory },
                    limits: { cpu: cfg.app.cpu, memory: cfg.app.memory },
                  },
                  readinessProbe: { httpGet: { path: "/readyz" } },
                  livenessProbe: { httpGet: { path: "/healthz" } },
                  startupProbe: { httpGet: { path: "/healthz" } },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                },
              ],
            },
          },
        },
      });
      assert.ok(
        !("replicas" in (deployment.inputs.spec as Json)),
        "the HPA, not the Deployment, owns replicas",
      );
      const spread = pod.topologySpreadConstraints as { topologyKey: string; maxSkew: number }[];
      assert.deepEqual(
        spread.map(({ topologyKey, maxSkew }) => [topologyKey, maxSkew]),
        [
          ["topology.kubernetes.io/zone", 1],
          ["kubernetes.io/hostname", 1],
        ],
      );
    });

    it("passes the app settings as plain env and the five secrets only through a Kubernetes Secret", () => {
      const deployment = only(plan, COMPONENT.workload, K.deployment);
      const [container] = podSpecOf(deployment).containers;
      const plain = Object.fromEntries(
        container.env.filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value]),
      );
      assert.deepEqual(
        {
          PORT: plain.PORT,
          DATABASE_POOL_MAX: plain.DATABASE_POOL_MAX,
          MAX_IN_FLIGHT: plain.MAX_IN_FLIGHT,
          CACHE_TTL_SECONDS: plain.CACHE_TTL_SECONDS,
          SHUTDOWN_GRACE_MS: plain.SHUTDOWN_GRACE_MS,
          LOG_LEVEL: plain.LOG_LEVEL,
          GOOGLE_CLOUD_PROJECT: plain.GOOGLE_CLOUD_PROJECT,
          NODE_OPTIONS: plain.NODE_OPTIONS,
        },
        {
          PORT: "8080",
          DATABASE_POOL_MAX: String(cfg.app.poolMax),
          MAX_IN_FLIGHT: String(cfg.app.maxInFlight),
          CACHE_TTL_SECONDS: String(cfg.app.cacheTtlSeconds),
          SHUTDOWN_GRACE_MS: String(cfg.app.shutdownGraceMs),
          LOG_LEVEL: cfg.app.logLevel,
          GOOGLE_CLOUD_PROJECT: project,
          NODE_OPTIONS: nodeOptionsFor(cfg.app.memory),
        },
      );
      assert.ok(!Object.values(plain).includes(SECRET), "a secret ended up in a plain env value");
      const secretObject = only(plan, COMPONENT.workload, K.secret);
      assert.equal(secretObject.inputs.stringData, SECRET, "the Secret's data must stay a Pulumi secret");
      const fromSecret = container.env.filter((entry) => entry.valueFrom?.secretKeyRef);
      assert.deepEqual(
        fromSecret.map((entry) => [entry.name, entry.valueFrom?.secretKeyRef?.key]),
        SECRET_ENV.map((name) => [name, name]),
      );
      plan.expectDependsOn(deployment, [secretObject]);
      for (const name of SECRET_ENV) assert.ok(!(name in plain), `${name} is a plain env value`);
    });

    it("scales on CPU between the configured replica bounds and limits voluntary disruption", () => {
      const hpa = only(plan, COMPONENT.workload, K.hpa);
      plan.expectInputs(K.hpa, hpa.name, {
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment" },
          minReplicas: cfg.gke.minReplicas,
          maxReplicas: cfg.gke.maxReplicas,
          metrics: [
            {
              type: "Resource",
              resource: {
                name: "cpu",
                target: { type: "Utilization", averageUtilization: cfg.gke.cpuTargetPercent },
              },
            },
          ],
        },
      });
      plan.expectDependsOn(hpa, [only(plan, COMPONENT.workload, K.deployment)]);
      const podLabels = podLabelsOf(only(plan, COMPONENT.workload, K.deployment));
      plan.expectInputs(K.pdb, only(plan, COMPONENT.workload, K.pdb).name, {
        spec: { maxUnavailable: "10%", selector: { matchLabels: podLabels } },
      });
    });

    it("exposes the pods as standalone zonal NEGs, drained by the edge within the grace period", () => {
      const service = only(plan, COMPONENT.workload, K.service);
      const annotations = (service.inputs.metadata as { annotations: Record<string, string> }).annotations;
      const ports = (service.inputs.spec as { ports: { port: number }[] }).ports;
      assert.deepEqual(JSON.parse(annotations["cloud.google.com/neg"]), {
        exposed_ports: { [String(ports[0].port)]: { name: "items-api-neg" } },
      });
      // The edge owns the load balancer: no Ingress, BackendConfig or address of the workload's own.
      for (const type of [K.ingress, K.backendConfig, T.globalAddress]) {
        assert.equal(
          plan.under(COMPONENT.workload).filter((resource) => resource.type === type).length,
          0,
          type,
        );
      }

      const pod = podSpecOf(only(plan, COMPONENT.workload, K.deployment));
      const backend = plan.find("gcp:compute/backendService:BackendService", "items-edge-gke");
      const draining = Number(backend.inputs.connectionDrainingTimeoutSec);
      const preStop = pod.containers[0].lifecycle.preStop.sleep.seconds;
      assert.ok(
        draining >= preStop && draining < Number(pod.terminationGracePeriodSeconds),
        `connectionDrainingTimeoutSec ${draining} outside [preStop ${preStop}, grace period)`,
      );
    });

    it("gives the pods a Workload Identity with least privilege: per-secret access, no keys", () => {
      const gsaGrants = plan.under(COMPONENT.workload).filter((resource) => resource.type === K.projectIam);
      assert.deepEqual(gsaGrants.map((grant) => grant.inputs.role).sort(), [
        "roles/cloudtrace.agent",
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
      ]);
      const member = String(gsaGrants[0].inputs.member);
      const email = member.replace(/^serviceAccount:/, "");
      const secretGrants = plan.under(COMPONENT.workload).filter((resource) => resource.type === K.secretIam);
      assert.equal(secretGrants.length, SECRET_ENV.length);
      for (const grant of secretGrants) {
        assert.deepEqual(
          [grant.inputs.role, grant.inputs.member],
          ["roles/secretmanager.secretAccessor", member],
        );
      }
      const ksa = only(plan, COMPONENT.workload, K.serviceAccount);
      assert.equal(
        (ksa.inputs.metadata as { annotations: Record<string, string> }).annotations[
          "iam.gke.io/gcp-service-account"
        ],
        email,
      );
      const namespace = (only(plan, COMPONENT.workload, K.namespace).inputs.metadata as { name: string })
        .name;
      const binding = only(plan, COMPONENT.workload, K.accountIam);
      assert.equal(binding.inputs.role, "roles/iam.workloadIdentityUser");
      assert.match(
        String(binding.inputs.member),
        new RegExp(`^serviceAccount:${project}\\.svc\\.id\\.goog\\[${namespace}/[a-z0-9-]+\\]$`),
      );
      plan.expectDependsOn(binding, [only(plan, COMPONENT.cluster, K.cluster), ksa]);
      const pod = podSpecOf(only(plan, COMPONENT.workload, K.deployment));
      assert.ok(String(binding.inputs.member).endsWith(`/${String(pod.serviceAccountName)}]`));
    });

    it("creates no Cloud Run resource", () => {
      const cloudRun = plan.resources.filter(
        (resource) =>
          resource.type.startsWith("gcp:cloudrunv2/") || resource.type === "items-api:gcp:CloudRunService",
      );
      assert.deepEqual(
        cloudRun.map((resource) => resource.urn),
        [],
      );
    });
  });
}

describe("GKE settings (config.ts owns their defaults and rules)", () => {
  const devWithGke = (fields: Record<string, unknown>) => ({
    ...rawStackConfig("dev"),
    "items-api:gke": JSON.stringify({ ...stackConfig("dev").gke, zone: undefined, ...fields }),
  });

  it("puts a zonal cluster in zone b of the stack's region unless told otherwise", () => {
    const dev = parseStackConfig(devWithGke({ regional: false }));
    assert.equal(clusterLocation(dev.gcp.region, dev.gke), "europe-west1-b");
    const zoned = parseStackConfig(devWithGke({ regional: false, zone: "europe-west1-d" }));
    assert.equal(clusterLocation(zoned.gcp.region, zoned.gke), "europe-west1-d");
    const regional = parseStackConfig(devWithGke({ regional: true, zone: "europe-west1-d" }));
    assert.equal(clusterLocation(regional.gcp.region, regional.gke), "europe-west1");
  });

  it("defaults what no stack sets: disk, maintenance window, no authorised networks, namespace, surge", () => {
    // The dev stack file sets none of these.
    const { gke } = parseStackConfig(rawStackConfig("dev"));
    assert.deepEqual(
      [
        gke.diskSizeGb,
        gke.maintenanceStartTime,
        gke.masterAuthorizedNetworks,
        gke.namespace,
        gke.rolloutMaxSurge,
      ],
      [50, "02:00", [], "api", 5],
    );
  });

  it("rejects bad values naming the key", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ zone: "us-east1-b" }, "items-api:gke.zone"],
      [{ zone: "europe-west1" }, "items-api:gke.zone"],
      [{ minNodes: -1 }, "items-api:gke.minNodes"],
      [{ maxNodes: 0 }, "items-api:gke.maxNodes"],
      [{ releaseChannel: "NIGHTLY" }, "items-api:gke.releaseChannel"],
      [{ maintenanceStartTime: "25:00" }, "items-api:gke.maintenanceStartTime"],
      [
        { masterAuthorizedNetworks: [{ cidrBlock: "10.0.0.1", displayName: "x" }] },
        "items-api:gke.masterAuthorizedNetworks.0.cidrBlock",
      ],
      [
        { masterAuthorizedNetworks: [{ cidrBlock: "10.0.0.0/8" }] },
        "items-api:gke.masterAuthorizedNetworks.0.displayName",
      ],
      [{ diskSizeGb: 5 }, "items-api:gke.diskSizeGb"],
      [{ cpuTargetPercent: 120 }, "items-api:gke.cpuTargetPercent"],
      [{ preStopSleepSeconds: 0 }, "items-api:gke.preStopSleepSeconds"],
      [{ namespace: "Api" }, "items-api:gke.namespace"],
      [{ rolloutMaxSurge: 0 }, "items-api:gke.rolloutMaxSurge"],
    ];
    for (const [fields, key] of cases) {
      assert.throws(
        () => parseStackConfig(devWithGke(fields)),
        (error: unknown) => error instanceof StackConfigError && error.key === key,
        `${JSON.stringify(fields)} should be rejected as ${key}`,
      );
    }
  });

  it("writes a kubeconfig whose user runs gke-gcloud-auth-plugin", () => {
    const config = JSON.parse(gkeKubeconfig("c1", "34.1.2.3", "Q0E=")) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: { exec: Json } }[];
    };
    assert.deepEqual(config.clusters[0].cluster, {
      server: "https://34.1.2.3",
      "certificate-authority-data": "Q0E=",
    });
    assert.deepEqual(pickExec(config.users[0].user.exec), {
      apiVersion: "client.authentication.k8s.io/v1beta1",
      command: "gke-gcloud-auth-plugin",
      provideClusterInfo: true,
    });
  });
});

function pickExec(exec: Json): Json {
  return { apiVersion: exec.apiVersion, command: exec.command, provideClusterInfo: exec.provideClusterInfo };
}

describe("shutdownSeconds", () => {
  it("sizes the grace period and LB draining from preStop, drain and grace", () => {
    const seconds = shutdownSeconds(12, APP_SETTINGS);
    // 12 s preStop + 2 s drain + 8 s grace, then 5 s for the process to exit.
    assert.equal(seconds.connectionDrainingSeconds, 22);
    assert.equal(seconds.terminationGracePeriodSeconds, 27);
  });
});
