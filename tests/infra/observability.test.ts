import * as assert from "node:assert/strict";

import { parseStackConfig, StackConfigError } from "../../config";
import { hpaMetricSpecs, RPS_METRIC_NAME } from "../../components/gke/workload";
import { connectionsThreshold, uptimeTarget } from "../../components/observability/observability";
import { runPlan } from "../../plan/run";
import { diffPlans } from "../../plan/diff";
import { Inventory, planOf, type PlannedResource } from "./inventory";
import { rawStackConfig, stackConfig, STACKS } from "../../lib/stack-files";

const M = {
  dashboard: "gcp:monitoring/dashboard:Dashboard",
  uptime: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
  alert: "gcp:monitoring/alertPolicy:AlertPolicy",
  channel: "gcp:monitoring/notificationChannel:NotificationChannel",
  service: "gcp:monitoring/customService:CustomService",
  slo: "gcp:monitoring/slo:Slo",
  podMonitoring: "kubernetes:monitoring.googleapis.com/v1:PodMonitoring",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  deployment: "kubernetes:apps/v1:Deployment",
  apiService: "kubernetes:apiregistration.k8s.io/v1:APIService",
  adapter: "items-api:gcp:MetricsAdapter",
} as const;

const CHART_METRICS = {
  // The edge: one view of every request whatever the platform; alerts and SLOs read these.
  edge: [
    "loadbalancing.googleapis.com/https/request_count",
    "loadbalancing.googleapis.com/https/backend_latencies",
    "loadbalancing.googleapis.com/https/total_latencies",
  ],
  cloudrun: [
    "run.googleapis.com/request_count",
    "run.googleapis.com/request_latencies",
    "container/instance_count",
  ],
  gke: [
    "prometheus.googleapis.com/http_requests_total/counter",
    "prometheus.googleapis.com/http_request_duration_seconds/histogram",
    "kubernetes.io/container/",
  ],
  dataTier: [
    "cloudsql.googleapis.com/database/cpu/utilization",
    "cloudsql.googleapis.com/database/postgresql/num_backends",
    "cloudsql.googleapis.com/database/replication/replica_lag",
    "redis.googleapis.com/stats/memory/usage_ratio",
    "redis.googleapis.com/stats/keyspace_hits",
    "redis.googleapis.com/stats/keyspace_misses",
  ],
};

interface Condition {
  conditionThreshold?: { filter: string; thresholdValue: number; denominatorFilter?: string };
  conditionMonitoringQueryLanguage?: { query: string };
  conditionPrometheusQueryLanguage?: { query: string; disableMetricValidation?: boolean };
}
const conditionOf = (policy: PlannedResource) => (policy.inputs.conditions as Condition[])[0];

/**
 * The threshold a policy alerts at: a threshold condition's `thresholdValue`, or the number a PromQL
 * condition compares with (`... > 0.01`).
 */
function thresholdOf(policy: PlannedResource): number {
  const condition = conditionOf(policy);
  if (condition.conditionThreshold) return condition.conditionThreshold.thresholdValue;
  const query = condition.conditionPrometheusQueryLanguage?.query ?? "";
  const match = /> ([0-9.e-]+)$/.exec(query);
  assert.ok(match, `no threshold in the condition of ${policy.name}: ${JSON.stringify(condition)}`);
  return Number(match[1]);
}

/** Cloud Monitoring knows a Managed Prometheus metric type only once a first sample is stored. */
const PROMETHEUS_METRIC = /prometheus\.googleapis\.com\//;

/** Values the Dashboard API drops (proto3 zero values and enum defaults), so sending them shows a diff forever. */
function droppedByDashboardApi(value: unknown, path = "$"): string[] {
  if (value === 0 || value === "" || value === false) return [path];
  if (typeof value === "string" && /^(ALIGN_NONE|REDUCE_NONE|[A-Z_]+_UNSPECIFIED)$/.test(value))
    return [path];
  if (Array.isArray(value)) {
    return value.length === 0
      ? [path]
      : value.flatMap((item, i) => droppedByDashboardApi(item, `${path}[${i}]`));
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return [path];
    return entries.flatMap(([key, inner]) => droppedByDashboardApi(inner, `${path}.${key}`));
  }
  return [];
}

for (const stack of STACKS) {
  for (const platform of ["cloudrun", "gke"] as const) {
    describe(`observability of the ${stack} stack on ${platform}`, () => {
      const obs = stackConfig(stack).observability;
      const cfg = stackConfig(stack);
      let plan: Inventory;
      let url: string;

      before(async () => {
        const doc = await planOf(stack, { platform });
        plan = new Inventory(doc.resources);
        url = String(doc.outputs.url);
      });

      it("builds a dashboard whose charts read each required metric", () => {
        const dashboard = plan.find(M.dashboard, "items-obs-dashboard");
        const text = String(dashboard.inputs.dashboardJson);
        const json = JSON.parse(text) as { mosaicLayout: { tiles: unknown[] } };
        assert.ok(json.mosaicLayout.tiles.length >= 10);
        for (const metric of [...CHART_METRICS.edge, ...CHART_METRICS[platform], ...CHART_METRICS.dataTier]) {
          assert.ok(text.includes(metric), `the dashboard does not chart ${metric}`);
        }
      });

      it("checks /healthz of the public URL, the edge's", () => {
        const check = plan.find(M.uptime, "items-obs-uptime");
        assert.equal((check.inputs.httpCheck as { path: string }).path, "/healthz");
        const host = (check.inputs.monitoredResource as { labels: { host: string } }).labels.host;
        assert.equal(host, new URL(url).hostname);
        if (cfg.edge.domain === undefined) assert.match(host, /^\d+\.\d+\.\d+\.\d+$/);
        else assert.equal(host, cfg.edge.domain);
      });

      it("alerts with the thresholds of the stack config", () => {
        const expected: Record<string, number> = {
          "items-obs-5xx-ratio": obs.errorRatioThreshold,
          "items-obs-p99-latency": obs.p99LatencyMs, // the load balancer's latencies are in ms
          "items-obs-replica-lag": obs.replicaLagSeconds,
          "items-obs-db-connections": Math.round(obs.connectionsRatio * cfg.database.maxConnections),
          "items-obs-redis-memory": obs.redisMemoryRatio,
          "items-obs-uptime": 1,
        };
        const actual = Object.fromEntries(
          plan.all(M.alert).map((policy) => [policy.name, thresholdOf(policy)]),
        );
        assert.deepEqual(actual, expected);
        const errorRatio = conditionOf(plan.find(M.alert, "items-obs-5xx-ratio"));
        assert.match(
          errorRatio.conditionThreshold?.denominatorFilter ??
            errorRatio.conditionPrometheusQueryLanguage?.query ??
            "",
          /request/,
        );
      });

      // A filter or MQL condition on a prometheus.googleapis.com type is refused ("Cannot find
      // metric(s)") until Managed Prometheus has stored a first sample, so the first GKE deploy, which
      // creates the policies before any pod runs, would fail (terraform-provider-google#10325).
      it("names no Managed Prometheus metric in a filter or MQL alert condition", () => {
        for (const policy of plan.all(M.alert)) {
          for (const condition of policy.inputs.conditions as Condition[]) {
            const filterOrMql = JSON.stringify([
              condition.conditionThreshold,
              condition.conditionMonitoringQueryLanguage,
            ]);
            assert.doesNotMatch(filterOrMql, PROMETHEUS_METRIC, `${policy.name}: ${filterOrMql}`);
            // PromQL conditions check that their metrics exist too, unless told not to.
            if (condition.conditionPrometheusQueryLanguage) {
              assert.equal(
                condition.conditionPrometheusQueryLanguage.disableMetricValidation,
                true,
                policy.name,
              );
            }
          }
        }
      });

      // The SLO API refuses a filter on a metric it does not know yet ("The metric referenced by the
      // provided filter is unknown", GoogleCloudPlatform/cloud-ops-sandbox#896), and SLIs have no PromQL form.
      it("names no Managed Prometheus metric in an SLO unless the stack says the API has exported it", () => {
        for (const slo of plan.all(M.slo)) {
          assert.doesNotMatch(JSON.stringify(slo.inputs.requestBasedSli), PROMETHEUS_METRIC, slo.name);
        }
      });

      it("sends the dashboard in the canonical form the API stores, without values it drops", () => {
        const json: unknown = JSON.parse(
          String(plan.find(M.dashboard, "items-obs-dashboard").inputs.dashboardJson),
        );
        assert.deepEqual(droppedByDashboardApi(json), []);
      });

      it("notifies the configured e-mail, or nobody when none is configured", () => {
        const channels = plan.all(M.channel);
        assert.equal(channels.length, obs.notificationEmail === undefined ? 0 : 1);
        for (const policy of plan.all(M.alert)) {
          assert.equal(
            (policy.inputs.notificationChannels as unknown[] | undefined)?.length ?? 0,
            channels.length,
          );
        }
        if (obs.notificationEmail !== undefined) {
          assert.deepEqual(channels[0].inputs.labels, { email_address: obs.notificationEmail });
        }
      });

      it("sets availability and latency SLOs on the load balancer's metrics, one service whatever the platform", () => {
        assert.equal(plan.find(M.service, "items-obs-service").inputs.serviceId, "items-obs-api");
        const availability = plan.find(M.slo, "items-obs-availability");
        const latency = plan.find(M.slo, "items-obs-latency");
        assert.equal(availability.inputs.goal, 0.999);
        assert.equal(latency.inputs.goal, 0.999);
        const cut = (
          latency.inputs.requestBasedSli as {
            distributionCut: { distributionFilter: string; range: { max: number } };
          }
        ).distributionCut;
        assert.equal(cut.range.max, obs.latencyThresholdMs);
        assert.ok(cut.distributionFilter.includes(CHART_METRICS.edge[1]));
        const ratio = (
          availability.inputs.requestBasedSli as { goodTotalRatio: { totalServiceFilter: string } }
        ).goodTotalRatio;
        assert.ok(ratio.totalServiceFilter.includes(CHART_METRICS.edge[0]));
      });

      if (platform === "gke") {
        it("scrapes /metrics of the API pods with Managed Prometheus and scales on CPU by default", () => {
          const [monitoring] = plan.all(M.podMonitoring);
          const deployment = plan.find(M.deployment, "items-api-api");
          const podLabels = (deployment.inputs.spec as { template: { metadata: { labels: unknown } } })
            .template.metadata.labels;
          assert.deepEqual(monitoring.inputs.spec, {
            selector: { matchLabels: podLabels },
            endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
          });
          assert.equal(
            (monitoring.inputs.metadata as { namespace: string }).namespace,
            (deployment.inputs.metadata as { namespace: string }).namespace,
          );
          const hpa = plan.find(M.hpa, "items-api-hpa");
          assert.equal((hpa.inputs.spec as { metrics: { type: string }[] }).metrics[0].type, "Resource");
          assert.equal(plan.all(M.adapter).length, 0);
          assert.equal(plan.all(M.apiService).length, 0);
        });
      }
    });
  }
}

describe("observability config overrides (prod)", () => {
  for (const platform of ["gke", "cloudrun"] as const) {
    it(`plans an unchanged ${platform} stack against itself with no change (nothing random or time-dependent)`, async function () {
      this.timeout(240_000);
      const [before, after] = await Promise.all([
        planOf("prod", { platform }),
        runPlan({ stack: "prod", overrides: { platform } }),
      ]);
      const { added, removed, changed } = diffPlans(before, after);
      assert.deepEqual({ added, removed, changed }, { added: [], removed: [], changed: [] });
    });
  }

  it("takes an alert threshold from --config", async () => {
    const plan = new Inventory(
      (await planOf("prod", { "observability.errorRatioThreshold": "0.05" })).resources,
    );
    assert.equal(thresholdOf(plan.find(M.alert, "items-obs-5xx-ratio")), 0.05);
  });

  it("scales on requests per second per pod through the metrics adapter with gke.hpaMetric=rps", async () => {
    const plan = new Inventory(
      (await planOf("prod", { platform: "gke", "gke.hpaMetric": "rps", "gke.targetRpsPerPod": "150" }))
        .resources,
    );
    const hpa = plan.find(M.hpa, "items-api-hpa");
    assert.deepEqual((hpa.inputs.spec as { metrics: unknown }).metrics, [
      {
        type: "Pods",
        pods: { metric: { name: RPS_METRIC_NAME }, target: { type: "AverageValue", averageValue: "150" } },
      },
    ]);
    plan.find(M.adapter, "items-metrics-adapter");
    assert.deepEqual(
      plan
        .all(M.apiService)
        .map((service) => (service.inputs.metadata as { name: string }).name)
        .sort(),
      ["v1beta1.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io"],
    );
    const adapter = plan.find(M.deployment, "items-metrics-adapter-deployment");
    const [container] = (
      adapter.inputs.spec as {
        template: {
          spec: {
            containers: {
              image: string;
              ports: { containerPort: number }[];
              resources: { requests: { memory: string } };
              securityContext: { capabilities: { drop?: string[]; add?: string[] } };
            }[];
          };
        };
      }
    ).template.spec.containers;
    // Google's current manifest (k8s-stackdriver, deploy/production/adapter_new_resource_model.yaml).
    assert.equal(container.image, "gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.9-gke.0");
    assert.equal(container.resources.requests.memory, "200Mi");
    // Without CAP_NET_BIND_SERVICE a process cannot bind below 1024 where the node keeps that default.
    const port = container.ports[0].containerPort;
    assert.ok(
      port >= 1024 || (container.securityContext.capabilities.add ?? []).includes("NET_BIND_SERVICE"),
      `the adapter listens on ${port} with capabilities ${JSON.stringify(container.securityContext.capabilities)}`,
    );
    const viewer = plan.find("gcp:projects/iAMMember:IAMMember", "items-metrics-adapter-monitoring-viewer");
    assert.equal(viewer.inputs.role, "roles/monitoring.viewer");
  });
});

describe("observability: pure parts", () => {
  it("puts the HPA on CPU utilisation or on the request rate", () => {
    assert.deepEqual(hpaMetricSpecs({ hpaMetric: "cpu", cpuTargetPercent: 60, targetRpsPerPod: 200 }), [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } },
      },
    ]);
    const [rps] = hpaMetricSpecs({ hpaMetric: "rps", cpuTargetPercent: 60, targetRpsPerPod: 200 });
    assert.deepEqual(rps.pods, {
      metric: { name: RPS_METRIC_NAME },
      target: { type: "AverageValue", averageValue: "200" },
    });
  });

  it("derives the connections threshold from the ratio and max_connections", () => {
    assert.equal(connectionsThreshold(0.8, 1000), 800);
    assert.equal(connectionsThreshold(0.8, 1854), 1483);
  });

  it("probes the URL's host with TLS only for https", () => {
    assert.deepEqual(uptimeTarget("http://34.1.2.3"), { host: "34.1.2.3", useSsl: false, port: 80 });
    assert.deepEqual(uptimeTarget("https://api.example.com"), {
      host: "api.example.com",
      useSsl: true,
      port: 443,
    });
  });

  it("rejects bad observability config naming the key", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ errorRatioThreshold: 1.5 }, "items-api:observability.errorRatioThreshold"],
      [{ redisMemoryRatio: 1.2 }, "items-api:observability.redisMemoryRatio"],
      [{ availabilityGoal: 0 }, "items-api:observability.availabilityGoal"],
      [{ replicaLagSeconds: 0 }, "items-api:observability.replicaLagSeconds"],
      [{ notificationEmail: "not-an-email" }, "items-api:observability.notificationEmail"],
      [{ typo: 1 }, "items-api:observability.typo"],
    ];
    for (const [fields, key] of cases) {
      const raw = { ...rawStackConfig("dev"), "items-api:observability": JSON.stringify(fields) };
      assert.throws(
        () => parseStackConfig(raw),
        (error: unknown) => error instanceof StackConfigError && error.key === key,
        `${JSON.stringify(fields)} should be rejected as ${key}`,
      );
    }
    const rps = { ...rawStackConfig("dev"), "items-api:gke": JSON.stringify({ hpaMetric: "memory" }) };
    assert.throws(
      () => parseStackConfig(rps),
      (error: unknown) => error instanceof StackConfigError && error.key === "items-api:gke.hpaMetric",
    );
  });

  it("reads decimal thresholds given as strings, as `--config key.field=0.05` passes them", () => {
    const raw = {
      ...rawStackConfig("dev"),
      "items-api:observability": JSON.stringify({ errorRatioThreshold: "0.05" }),
    };
    assert.equal(parseStackConfig(raw).observability.errorRatioThreshold, 0.05);
  });
});
