import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { StackConfig } from "../../config";
import {
  apiSignals,
  dashboardJson,
  DATA_TIER_METRICS,
  MINUTE,
  MS_PER_LATENCY_UNIT,
  type ApiPlatform,
  type ApiSignals,
} from "./signals";

/** What the API runs on, and the name its metrics are scoped by (Cloud Run service, GKE namespace). */
export type ObservedWorkload =
  | { readonly platform: "cloudrun"; readonly serviceName: pulumi.Input<string> }
  | { readonly platform: "gke"; readonly namespace: pulumi.Input<string> };

/** The stack's `observability` settings, validated and defaulted by config.ts. */
export type ObservabilitySettings = StackConfig["observability"];

export interface ObservabilityArgs {
  /** GCP project id. */
  readonly project: string;
  /** The API's platform and metric scope. */
  readonly workload: ObservedWorkload;
  /** The API's public URL; the uptime check probes `/healthz` on its host. */
  readonly url: pulumi.Input<string>;
  /** SLO goals, alert thresholds and where alerts go. */
  readonly settings: ObservabilitySettings;
  /** `max_connections` of every Cloud SQL instance. */
  readonly databaseMaxConnections: number;
  /** Enabled APIs the resources wait for (monitoring). */
  readonly apis: readonly pulumi.Resource[];
}

/** Backends per Cloud SQL instance that alert: connectionsRatio x max_connections. */
export function connectionsThreshold(connectionsRatio: number, databaseMaxConnections: number): number {
  return Math.round(connectionsRatio * databaseMaxConnections);
}

/**
 * Whether the SLOs can be created: the SLO API refuses a filter on a metric type it has no sample of
 * ("The metric referenced by the provided filter is unknown", GoogleCloudPlatform/cloud-ops-sandbox#896),
 * and SLIs have no PromQL form. Cloud Run's metrics are built in; the API's Prometheus metrics on GKE
 * exist only once Managed Prometheus has stored a first sample.
 */
export function slosCreatable(platform: ApiPlatform, appMetricsExported: boolean): boolean {
  return platform === "cloudrun" || appMetricsExported;
}

const percent = (fraction: number) => Number((fraction * 100).toPrecision(6));

/** Host and scheme the uptime check probes, from the API's URL. */
export function uptimeTarget(url: string): { host: string; useSsl: boolean; port: number } {
  const parsed = new URL(url);
  const useSsl = parsed.protocol === "https:";
  return { host: parsed.hostname, useSsl, port: parsed.port ? Number(parsed.port) : useSsl ? 443 : 80 };
}

interface ThresholdCondition {
  readonly displayName: string;
  readonly filter: string;
  readonly aligner: string;
  readonly reducer: string;
  readonly groupBy?: string;
  readonly threshold: number;
  readonly duration: string;
  readonly denominatorFilter?: string;
}

/** A PromQL condition on metrics the app exports: the expression with its comparison, held for `duration`. */
interface PromqlCondition {
  readonly displayName: string;
  readonly query: string;
  readonly duration: string;
}

type Condition = ThresholdCondition | PromqlCondition;

export const ALERTS = [
  "5xx-ratio",
  "p99-latency",
  "replica-lag",
  "db-connections",
  "redis-memory",
  "uptime",
] as const;
export type AlertName = (typeof ALERTS)[number];

export interface AlertThresholds {
  readonly errorRatioThreshold: number;
  readonly p99LatencyMs: number;
  readonly replicaLagSeconds: number;
  readonly connectionsThreshold: number;
  readonly redisMemoryRatio: number;
}

/**
 * Every alert's condition. The API's own signals are PromQL where the app exports them (GKE): a
 * filter naming a prometheus.googleapis.com type is refused ("Cannot find metric(s)") until Managed
 * Prometheus stores a first sample (terraform-provider-google#10325), and the first deploy creates
 * the policies before any pod runs.
 */
export function alertConditions(
  api: ApiSignals,
  uptimeHost: string,
  thresholds: AlertThresholds,
): Record<AlertName, Condition> {
  const fiveMinutes = "300s";
  const errorRatio = `5xx ratio above ${thresholds.errorRatioThreshold}`;
  const p99 = `p99 latency above ${thresholds.p99LatencyMs} ms`;
  const p99InUnit = thresholds.p99LatencyMs / MS_PER_LATENCY_UNIT[api.platform];
  return {
    "5xx-ratio": api.promql
      ? {
          displayName: errorRatio,
          query: `${api.promql.errorRatio} > ${thresholds.errorRatioThreshold}`,
          duration: fiveMinutes,
        }
      : {
          displayName: errorRatio,
          filter: api.serverErrors,
          denominatorFilter: api.requests,
          aligner: "ALIGN_RATE",
          reducer: "REDUCE_SUM",
          threshold: thresholds.errorRatioThreshold,
          duration: fiveMinutes,
        },
    "p99-latency": api.promql
      ? { displayName: p99, query: `${api.promql.p99Seconds} > ${p99InUnit}`, duration: fiveMinutes }
      : {
          displayName: p99,
          filter: api.latency,
          aligner: "ALIGN_DELTA",
          reducer: "REDUCE_PERCENTILE_99",
          threshold: p99InUnit,
          duration: fiveMinutes,
        },
    "replica-lag": {
      displayName: `Replica lag above ${thresholds.replicaLagSeconds} s`,
      filter: DATA_TIER_METRICS.replicaLag,
      aligner: "ALIGN_MAX",
      reducer: "REDUCE_MAX",
      groupBy: "resource.labels.database_id",
      threshold: thresholds.replicaLagSeconds,
      duration: "120s",
    },
    "db-connections": {
      displayName: `Cloud SQL connections above ${thresholds.connectionsThreshold}`,
      filter: DATA_TIER_METRICS.sqlConnections,
      aligner: "ALIGN_MEAN",
      reducer: "REDUCE_SUM",
      groupBy: "resource.labels.database_id",
      threshold: thresholds.connectionsThreshold,
      duration: fiveMinutes,
    },
    "redis-memory": {
      displayName: `Redis memory above ${thresholds.redisMemoryRatio}`,
      filter: DATA_TIER_METRICS.redisMemory,
      aligner: "ALIGN_MEAN",
      reducer: "REDUCE_MAX",
      groupBy: "resource.labels.instance_id",
      threshold: thresholds.redisMemoryRatio,
      duration: fiveMinutes,
    },
    // Failing checks from more than one checker region, so one region's network blip does not page.
    uptime: {
      displayName: "Uptime check of /healthz failing",
      filter: `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url" AND resource.labels.host="${uptimeHost}"`,
      aligner: "ALIGN_NEXT_OLDER",
      reducer: "REDUCE_COUNT_FALSE",
      groupBy: "resource.labels.host",
      threshold: 1,
      duration: "60s",
    },
  };
}

function alertCondition(c: Condition): gcp.types.input.monitoring.AlertPolicyCondition {
  if ("query" in c) {
    return {
      displayName: c.displayName,
      conditionPrometheusQueryLanguage: {
        query: c.query,
        duration: c.duration,
        evaluationInterval: MINUTE,
        // PromQL conditions check their metrics exist too; the app's appear after the first scrape.
        disableMetricValidation: true,
      },
    };
  }
  const aggregations = [
    {
      alignmentPeriod: MINUTE,
      perSeriesAligner: c.aligner,
      crossSeriesReducer: c.reducer,
      ...(c.groupBy ? { groupByFields: [c.groupBy] } : {}),
    },
  ];
  return {
    displayName: c.displayName,
    conditionThreshold: {
      filter: c.filter,
      comparison: "COMPARISON_GT",
      thresholdValue: c.threshold,
      duration: c.duration,
      aggregations,
      trigger: { count: 1 },
      ...(c.denominatorFilter
        ? { denominatorFilter: c.denominatorFilter, denominatorAggregations: aggregations }
        : {}),
    },
  };
}

/**
 * Dashboard, uptime check, alert policies and SLOs of the API and its data tier, on either platform.
 * Without a notification e-mail the alert policies still exist and open incidents in Cloud Monitoring;
 * they just notify nobody (dev).
 */
export class Observability extends pulumi.ComponentResource {
  public readonly dashboardId: pulumi.Output<string>;
  public readonly serviceId: pulumi.Output<string>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gcp-async-api:gcp:Observability", name, {}, opts);
    const { settings } = args;
    const { platform } = args.workload;
    const childOpts = { parent: this, dependsOn: [...args.apis] };
    const dbConnectionsThreshold = connectionsThreshold(
      settings.connectionsRatio,
      args.databaseMaxConnections,
    );
    const project = args.project;
    const scope = args.workload.platform === "cloudrun" ? args.workload.serviceName : args.workload.namespace;
    const api = pulumi.output(scope).apply((value) => apiSignals(platform, value));

    const dashboard = new gcp.monitoring.Dashboard(
      `${name}-dashboard`,
      {
        project,
        dashboardJson: api.apply((signals) =>
          JSON.stringify(
            dashboardJson(`${name} (${platform})`, signals, {
              ...settings,
              connectionsThreshold: dbConnectionsThreshold,
            }),
          ),
        ),
      },
      childOpts,
    );

    const target = pulumi.output(args.url).apply(uptimeTarget);
    new gcp.monitoring.UptimeCheckConfig(
      `${name}-uptime`,
      {
        project,
        displayName: `${name} /healthz`,
        timeout: "10s",
        period: "60s",
        httpCheck: { path: "/healthz", port: target.port, useSsl: target.useSsl, validateSsl: target.useSsl },
        monitoredResource: { type: "uptime_url", labels: { project_id: project, host: target.host } },
      },
      childOpts,
    );

    const channels =
      settings.notificationEmail === undefined
        ? []
        : [
            new gcp.monitoring.NotificationChannel(
              `${name}-email`,
              {
                project,
                type: "email",
                displayName: `${name} on-call`,
                labels: { email_address: settings.notificationEmail },
              },
              childOpts,
            ).id,
          ];

    const thresholds = { ...settings, connectionsThreshold: dbConnectionsThreshold };
    const conditions = pulumi
      .all([api, target])
      .apply(([signals, { host }]) => alertConditions(signals, host, thresholds));
    for (const alert of ALERTS) {
      const condition = conditions.apply((all) => all[alert]);
      new gcp.monitoring.AlertPolicy(
        `${name}-${alert}`,
        {
          project,
          displayName: pulumi.interpolate`${name}: ${condition.displayName}`,
          combiner: "OR",
          conditions: [condition.apply(alertCondition)],
          notificationChannels: channels,
          documentation: {
            content: "See the operator guide (README-operator.md) for what to check first.",
            mimeType: "text/markdown",
          },
        },
        childOpts,
      );
    }

    const service = new gcp.monitoring.CustomService(
      `${name}-service`,
      { project, serviceId: `${name}-${platform}`, displayName: `${name} API (${platform})` },
      childOpts,
    );
    if (slosCreatable(platform, settings.appMetricsExported)) {
      new gcp.monitoring.Slo(
        `${name}-availability`,
        {
          project,
          service: service.serviceId,
          sloId: "availability",
          displayName: `${percent(settings.availabilityGoal)}% of requests without a 5xx`,
          goal: settings.availabilityGoal,
          rollingPeriodDays: 28,
          requestBasedSli: {
            goodTotalRatio: { badServiceFilter: api.serverErrors, totalServiceFilter: api.requests },
          },
        },
        { parent: this },
      );
      new gcp.monitoring.Slo(
        `${name}-latency`,
        {
          project,
          service: service.serviceId,
          sloId: "latency",
          displayName: `${percent(settings.latencyGoal)}% of requests under ${settings.latencyThresholdMs} ms`,
          goal: settings.latencyGoal,
          rollingPeriodDays: 28,
          requestBasedSli: {
            distributionCut: {
              distributionFilter: api.sloLatency,
              range: { max: settings.latencyThresholdMs / MS_PER_LATENCY_UNIT[platform] },
            },
          },
        },
        { parent: this },
      );
    }

    this.dashboardId = dashboard.id;
    this.serviceId = service.serviceId;
    this.registerOutputs({ dashboardId: this.dashboardId, serviceId: this.serviceId });
  }
}
