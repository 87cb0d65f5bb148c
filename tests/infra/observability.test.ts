import * as assert from "node:assert/strict";

import { parseStackConfig, StackConfigError } from "../../config";
import { hpaMetricSpecs, RPS_METRIC_NAME } from "../../components/gke/workload";
import { resolveObservabilityArgs, uptimeTarget } from "../../components/observability/observability";
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
  adapter: "gcp-async-api:gcp:MetricsAdapter",
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
  conditionThreshold: { filter: string; thresholdValue: number; denominatorFilter?: string };
}
const thresholdOf = (policy: PlannedResource) =>
  (policy.inputs.conditions as Condition[])[0].conditionThreshold;

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
          plan.all(M.alert).map((policy) => [policy.name, thresholdOf(policy).thresholdValue]),
        );
        assert.deepEqual(actual, expected);
        assert.match(
          thresholdOf(plan.find(M.alert, "items-obs-5xx-ratio")).denominatorFilter ?? "",
          /request/,
        );
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
  it("takes an alert threshold from --config", async () => {
    const plan = new Inventory(
      (await planOf("prod", { "observability.errorRatioThreshold": "0.05" })).resources,
    );
    assert.equal(thresholdOf(plan.find(M.alert, "items-obs-5xx-ratio")).thresholdValue, 0.05);
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
    assert.match(JSON.stringify(adapter.inputs), /gcr\.io\/gke-release\/custom-metrics-stackdriver-adapter/);
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

  it("derives the connections threshold and rejects bad ratios", () => {
    assert.equal(resolveObservabilityArgs({ databaseMaxConnections: 1000 }).connectionsThreshold, 800);
    assert.throws(
      () => resolveObservabilityArgs({ databaseMaxConnections: 100, redisMemoryRatio: 1.2 }),
      /`redisMemoryRatio` must be strictly between 0 and 1/,
    );
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
      [{ errorRatioThreshold: 1.5 }, "gcp-async-api:observability.errorRatioThreshold"],
      [{ availabilityGoal: 0 }, "gcp-async-api:observability.availabilityGoal"],
      [{ replicaLagSeconds: 0 }, "gcp-async-api:observability.replicaLagSeconds"],
      [{ notificationEmail: "not-an-email" }, "gcp-async-api:observability.notificationEmail"],
      [{ typo: 1 }, "gcp-async-api:observability.typo"],
    ];
    for (const [fields, key] of cases) {
      const raw = { ...rawStackConfig("dev"), "gcp-async-api:observability": JSON.stringify(fields) };
      assert.throws(
        () => parseStackConfig(raw),
        (error: unknown) => error instanceof StackConfigError && error.key === key,
        `${JSON.stringify(fields)} should be rejected as ${key}`,
      );
    }
    const rps = { ...rawStackConfig("dev"), "gcp-async-api:gke": JSON.stringify({ hpaMetric: "memory" }) };
    assert.throws(
      () => parseStackConfig(rps),
      (error: unknown) => error instanceof StackConfigError && error.key === "gcp-async-api:gke.hpaMetric",
    );
  });

  it("reads decimal thresholds given as strings, as `--config key.field=0.05` passes them", () => {
    const raw = {
      ...rawStackConfig("dev"),
      "gcp-async-api:observability": JSON.stringify({ errorRatioThreshold: "0.05" }),
    };
    assert.equal(parseStackConfig(raw).observability.errorRatioThreshold, 0.05);
  });
});
