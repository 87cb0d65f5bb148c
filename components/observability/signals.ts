// Cloud Monitoring filters of the API and its data tier, and the dashboard built from them: pure,
// so the charts and the alert conditions in observability.ts read the same series.

export type ApiPlatform = "cloudrun" | "gke";

/** Alert thresholds the dashboard draws on its charts. */
export interface DashboardThresholds {
  readonly errorRatioThreshold: number;
  readonly p99LatencyMs: number;
  readonly connectionsThreshold: number;
  readonly replicaLagSeconds: number;
  readonly redisMemoryRatio: number;
}

/** Cloud Monitoring filters of the API's own signals on one platform. */
export interface ApiSignals {
  readonly platform: ApiPlatform;
  readonly requests: string;
  readonly serverErrors: string;
  readonly latency: string;
  readonly replicas: string;
  readonly replicasTitle: string;
  /** Label to split request charts by, where the platform has one. */
  readonly routeLabel: string | undefined;
}

/** Milliseconds per unit of each platform's latency metric (Cloud Run: ms; Prometheus: seconds). */
export const MS_PER_LATENCY_UNIT = { cloudrun: 1, gke: 1000 } as const;

export function apiSignals(platform: ApiPlatform, scope: string): ApiSignals {
  if (platform === "cloudrun") {
    const service = `resource.type="cloud_run_revision" AND resource.labels.service_name="${scope}"`;
    const requests = `metric.type="run.googleapis.com/request_count" AND ${service}`;
    const latency = `metric.type="run.googleapis.com/request_latencies" AND ${service}`;
    return {
      platform,
      requests,
      serverErrors: `${requests} AND metric.labels.response_code_class="5xx"`,
      latency,
      replicas: `metric.type="run.googleapis.com/container/instance_count" AND ${service}`,
      replicasTitle: "Instances",
      routeLabel: undefined,
    };
  }
  const target = `resource.type="prometheus_target" AND resource.labels.namespace="${scope}"`;
  const requests = `metric.type="prometheus.googleapis.com/http_requests_total/counter" AND ${target}`;
  const latency = `metric.type="prometheus.googleapis.com/http_request_duration_seconds/histogram" AND ${target}`;
  return {
    platform,
    requests,
    serverErrors: `${requests} AND metric.labels.status=monitoring.regex.full_match("5..")`,
    latency,
    replicas:
      `metric.type="kubernetes.io/container/uptime" AND resource.type="k8s_container" AND ` +
      `resource.labels.namespace_name="${scope}" AND resource.labels.container_name="api"`,
    replicasTitle: "Pods",
    routeLabel: "metric.labels.route",
  };
}

/**
 * The edge's signals: every request whatever platform serves it, so one latency and availability view
 * survives a platform move. Latency is the backend's (proxy to backend and back), which the API and
 * its platform control; the client's own network is in `totalLatency`, charted only.
 */
export interface EdgeSignals {
  readonly requests: string;
  readonly serverErrors: string;
  readonly latency: string;
  readonly totalLatency: string;
}

/** The load balancer's latency metrics are in ms. */
export const MS_PER_EDGE_LATENCY_UNIT = 1;

export function edgeSignals(urlMapName: string): EdgeSignals {
  const rule = `resource.type="https_lb_rule" AND resource.labels.url_map_name="${urlMapName}"`;
  const requests = `metric.type="loadbalancing.googleapis.com/https/request_count" AND ${rule}`;
  return {
    requests,
    serverErrors: `${requests} AND metric.labels.response_code_class=500`,
    latency: `metric.type="loadbalancing.googleapis.com/https/backend_latencies" AND ${rule}`,
    totalLatency: `metric.type="loadbalancing.googleapis.com/https/total_latencies" AND ${rule}`,
  };
}

/** The data tier's signals; the project holds one stack, so they cover every instance in it. */
export const DATA_TIER_METRICS = {
  sqlCpu: `metric.type="cloudsql.googleapis.com/database/cpu/utilization" AND resource.type="cloudsql_database"`,
  sqlConnections: `metric.type="cloudsql.googleapis.com/database/postgresql/num_backends" AND resource.type="cloudsql_database"`,
  replicaLag: `metric.type="cloudsql.googleapis.com/database/replication/replica_lag" AND resource.type="cloudsql_database"`,
  redisMemory: `metric.type="redis.googleapis.com/stats/memory/usage_ratio" AND resource.type="redis_instance"`,
  redisHits: `metric.type="redis.googleapis.com/stats/keyspace_hits" AND resource.type="redis_instance"`,
  redisMisses: `metric.type="redis.googleapis.com/stats/keyspace_misses" AND resource.type="redis_instance"`,
} as const;

// The Dashboard API's JSON, typed down to the fields used here.
interface Aggregation {
  readonly alignmentPeriod: string;
  readonly perSeriesAligner: string;
  readonly crossSeriesReducer?: string;
  readonly groupByFields?: readonly string[];
}
interface TimeSeriesFilter {
  readonly filter: string;
  readonly aggregation: Aggregation;
}
type TimeSeriesQuery =
  | { readonly timeSeriesFilter: TimeSeriesFilter }
  | {
      readonly timeSeriesFilterRatio: {
        readonly numerator: TimeSeriesFilter;
        readonly denominator: TimeSeriesFilter;
      };
    }
  | { readonly prometheusQuery: string };
interface ChartWidget {
  readonly title: string;
  readonly xyChart: {
    readonly dataSets: readonly { readonly timeSeriesQuery: TimeSeriesQuery; readonly plotType: "LINE" }[];
    readonly thresholds?: readonly { readonly value: number; readonly label: string }[];
  };
}
export interface DashboardJson {
  readonly displayName: string;
  readonly mosaicLayout: {
    readonly columns: number;
    readonly tiles: readonly {
      xPos?: number;
      yPos?: number;
      width: number;
      height: number;
      widget: ChartWidget;
    }[];
  };
}

/**
 * The form the Dashboard API stores: proto3 leaves zero values (0, "", false, empty lists and
 * objects) out, so a dashboard sent with them differs from what the provider reads back and shows a
 * change on every preview (terraform-provider-google#16173). Drops them, recursively.
 */
export function canonicalDashboard<T>(value: T): T {
  return prune(value) as T;
}

function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune).filter((item) => item !== undefined);
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .map(([key, inner]) => [key, prune(inner)] as const)
      .filter(([, inner]) => inner !== undefined && !isEmpty(inner));
    return Object.fromEntries(entries);
  }
  return value === 0 || value === "" || value === false ? undefined : value;
}

const isEmpty = (value: unknown) =>
  (Array.isArray(value) && value.length === 0) ||
  (typeof value === "object" && value !== null && Object.keys(value).length === 0);

/** Alignment period of every chart and alert condition. */
export const MINUTE = "60s";
const series = (filter: string, perSeriesAligner: string, crossSeriesReducer?: string, groupBy?: string) => ({
  filter,
  aggregation: {
    alignmentPeriod: MINUTE,
    perSeriesAligner,
    ...(crossSeriesReducer ? { crossSeriesReducer } : {}),
    ...(groupBy ? { groupByFields: [groupBy] } : {}),
  },
});
const chart = (title: string, queries: readonly TimeSeriesQuery[], threshold?: number): ChartWidget => ({
  title,
  xyChart: {
    dataSets: queries.map((timeSeriesQuery) => ({ timeSeriesQuery, plotType: "LINE" as const })),
    ...(threshold === undefined ? {} : { thresholds: [{ value: threshold, label: "alert" }] }),
  },
});

const redisRate = (kind: "hits" | "misses") => `sum(rate(redis_googleapis_com:stats_keyspace_${kind}[5m]))`;

/** The edge's charts: traffic per backend service (platform), errors and latency of every request. */
function edgeWidgets(edge: EdgeSignals, thresholds: DashboardThresholds): ChartWidget[] {
  const edgePercentile = (filter: string, reducer: string) => ({
    timeSeriesFilter: series(filter, "ALIGN_DELTA", reducer),
  });
  return [
    chart("Edge: requests by backend (/s)", [
      {
        timeSeriesFilter: series(
          edge.requests,
          "ALIGN_RATE",
          "REDUCE_SUM",
          "resource.labels.backend_target_name",
        ),
      },
    ]),
    chart(
      "Edge: 5xx ratio",
      [
        {
          timeSeriesFilterRatio: {
            numerator: series(edge.serverErrors, "ALIGN_RATE", "REDUCE_SUM"),
            denominator: series(edge.requests, "ALIGN_RATE", "REDUCE_SUM"),
          },
        },
      ],
      thresholds.errorRatioThreshold,
    ),
    chart(
      "Edge: backend latency p50 and p99 (ms)",
      [
        edgePercentile(edge.latency, "REDUCE_PERCENTILE_50"),
        edgePercentile(edge.latency, "REDUCE_PERCENTILE_99"),
      ],
      thresholds.p99LatencyMs / MS_PER_EDGE_LATENCY_UNIT,
    ),
    chart("Edge: total latency p99, client network included (ms)", [
      edgePercentile(edge.totalLatency, "REDUCE_PERCENTILE_99"),
    ]),
  ];
}

/** One platform's own charts, titled with the platform. */
function platformWidgets(api: ApiSignals, thresholds: DashboardThresholds): ChartWidget[] {
  const byRoute = api.routeLabel;
  const msPerUnit = MS_PER_LATENCY_UNIT[api.platform];
  const percentile = (reducer: string) => ({
    timeSeriesFilter: series(api.latency, "ALIGN_DELTA", reducer, byRoute),
  });
  const named = (widget: ChartWidget): ChartWidget => ({
    ...widget,
    title: `${api.platform}: ${widget.title}`,
  });
  return [
    chart("Request rate (/s)", [
      { timeSeriesFilter: series(api.requests, "ALIGN_RATE", "REDUCE_SUM", byRoute) },
    ]),
    chart(
      "5xx ratio",
      [
        {
          timeSeriesFilterRatio: {
            numerator: series(api.serverErrors, "ALIGN_RATE", "REDUCE_SUM"),
            denominator: series(api.requests, "ALIGN_RATE", "REDUCE_SUM"),
          },
        },
      ],
      thresholds.errorRatioThreshold,
    ),
    chart("Latency p50", [percentile("REDUCE_PERCENTILE_50")]),
    chart("Latency p99", [percentile("REDUCE_PERCENTILE_99")], thresholds.p99LatencyMs / msPerUnit),
    chart(api.replicasTitle, [{ timeSeriesFilter: series(api.replicas, "ALIGN_MEAN", "REDUCE_COUNT") }]),
  ].map(named);
}

/** The dashboard: two charts a row, the edge first, then each platform, then Cloud SQL, then Redis. */
export function dashboardJson(
  title: string,
  edge: EdgeSignals,
  platforms: readonly ApiSignals[],
  thresholds: DashboardThresholds,
): DashboardJson {
  const widgets = [
    ...edgeWidgets(edge, thresholds),
    ...platforms.flatMap((api) => platformWidgets(api, thresholds)),
    chart("Cloud SQL CPU utilisation", [
      {
        timeSeriesFilter: series(
          DATA_TIER_METRICS.sqlCpu,
          "ALIGN_MEAN",
          "REDUCE_MAX",
          "resource.labels.database_id",
        ),
      },
    ]),
    chart(
      "Cloud SQL connections",
      [
        {
          timeSeriesFilter: series(
            DATA_TIER_METRICS.sqlConnections,
            "ALIGN_MEAN",
            "REDUCE_SUM",
            "resource.labels.database_id",
          ),
        },
      ],
      thresholds.connectionsThreshold,
    ),
    chart(
      "Replica lag (s)",
      [
        {
          timeSeriesFilter: series(
            DATA_TIER_METRICS.replicaLag,
            "ALIGN_MAX",
            "REDUCE_MAX",
            "resource.labels.database_id",
          ),
        },
      ],
      thresholds.replicaLagSeconds,
    ),
    chart(
      "Redis memory usage ratio",
      [{ timeSeriesFilter: series(DATA_TIER_METRICS.redisMemory, "ALIGN_MEAN", "REDUCE_MAX") }],
      thresholds.redisMemoryRatio,
    ),
    chart("Redis hits and misses (/s)", [
      { timeSeriesFilter: series(DATA_TIER_METRICS.redisHits, "ALIGN_RATE", "REDUCE_SUM") },
      { timeSeriesFilter: series(DATA_TIER_METRICS.redisMisses, "ALIGN_RATE", "REDUCE_SUM") },
    ]),
    chart("Redis hit ratio", [
      // A ratio of two metrics' sum is beyond a filter ratio; PromQL names Cloud Monitoring metrics this way.
      { prometheusQuery: `${redisRate("hits")} / (${redisRate("hits")} + ${redisRate("misses")})` },
    ]),
  ];
  const width = 24;
  const height = 16;
  return canonicalDashboard({
    displayName: title,
    mosaicLayout: {
      columns: 48,
      tiles: widgets.map((widget, index) => ({
        xPos: (index % 2) * width,
        yPos: Math.floor(index / 2) * height,
        width,
        height,
        widget,
      })),
    },
  });
}
