import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { StackConfig } from "../../config";
import {
  apiSignals,
  dashboardJson,
  DATA_TIER_METRICS,
  edgeSignals,
  MINUTE,
  MS_PER_EDGE_LATENCY_UNIT,
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
  /** Each platform the API runs on and its metric scope, charted per platform (at least one). */
  readonly workloads: readonly ObservedWorkload[];
  /** The edge's URL; the uptime check probes `/healthz` on its host. */
  readonly url: pulumi.Input<string>;
  /** The edge's URL map: alerts and SLOs read the load balancer's metrics, whatever the platform. */
  readonly urlMapName: pulumi.Input<string>;
  /** SLO goals, alert thresholds and where alerts go. */
  readonly settings: ObservabilitySettings;
  /** `max_connections` of every Cloud SQL instance. */
  readonly databaseMaxConnections: number;
  /** Enabled APIs the resources wait for (monitoring). */
  readonly apis: readonly pulumi.Resource[];
}

/** Alert thresholds and SLO goals, with the connection count derived from the instances' maximum. */
export interface ResolvedObservabilitySettings extends ObservabilitySettings {
  /** Backends per Cloud SQL instance that alert: connectionsRatio x max_connections. */
  readonly connectionsThreshold: number;
}

/** Backends per Cloud SQL instance that alert: connectionsRatio x max_connections. */
export function connectionsThreshold(connectionsRatio: number, databaseMaxConnections: number): number {
  return Math.round(connectionsRatio * databaseMaxConnections);
}

export function resolveObservabilityArgs(
  settings: ObservabilitySettings,
  databaseMaxConnections: number,
): ResolvedObservabilitySettings {
  return {
    ...settings,
    connectionsThreshold: connectionsThreshold(settings.connectionsRatio, databaseMaxConnections),
  };
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
  readonly filter: pulumi.Input<string>;
  readonly aligner: string;
  readonly reducer: string;
  readonly groupBy?: string;
  readonly threshold: number;
  readonly duration: string;
  readonly denominatorFilter?: pulumi.Input<string>;
}

function thresholdCondition(c: ThresholdCondition): gcp.types.input.monitoring.AlertPolicyCondition {
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
    super("items-api:gcp:Observability", name, {}, opts);
    const resolved = resolveObservabilityArgs(args.settings, args.databaseMaxConnections);
    const childOpts = { parent: this, dependsOn: [...args.apis] };
    const project = args.project;
    const platforms = pulumi.all(
      args.workloads.map((workload) =>
        pulumi
          .output(workload.platform === "cloudrun" ? workload.serviceName : workload.namespace)
          .apply((scope) => apiSignals(workload.platform, scope)),
      ),
    );
    const api = pulumi.output(args.urlMapName).apply(edgeSignals);

    const dashboard = new gcp.monitoring.Dashboard(
      `${name}-dashboard`,
      {
        project,
        dashboardJson: pulumi
          .all([api, platforms])
          .apply(([edge, perPlatform]) => JSON.stringify(dashboardJson(name, edge, perPlatform, resolved))),
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
      resolved.notificationEmail === undefined
        ? []
        : [
            new gcp.monitoring.NotificationChannel(
              `${name}-email`,
              {
                project,
                type: "email",
                displayName: `${name} on-call`,
                labels: { email_address: resolved.notificationEmail },
              },
              childOpts,
            ).id,
          ];

    const fiveMinutes = "300s";
    const alerts: Record<string, ThresholdCondition> = {
      "5xx-ratio": {
        displayName: `5xx ratio above ${resolved.errorRatioThreshold}`,
        filter: api.serverErrors,
        denominatorFilter: api.requests,
        aligner: "ALIGN_RATE",
        reducer: "REDUCE_SUM",
        threshold: resolved.errorRatioThreshold,
        duration: fiveMinutes,
      },
      "p99-latency": {
        displayName: `p99 latency above ${resolved.p99LatencyMs} ms`,
        filter: api.latency,
        aligner: "ALIGN_DELTA",
        reducer: "REDUCE_PERCENTILE_99",
        threshold: resolved.p99LatencyMs / MS_PER_EDGE_LATENCY_UNIT,
        duration: fiveMinutes,
      },
      "replica-lag": {
        displayName: `Replica lag above ${resolved.replicaLagSeconds} s`,
        filter: DATA_TIER_METRICS.replicaLag,
        aligner: "ALIGN_MAX",
        reducer: "REDUCE_MAX",
        groupBy: "resource.labels.database_id",
        threshold: resolved.replicaLagSeconds,
        duration: "120s",
      },
      "db-connections": {
        displayName: `Cloud SQL connections above ${resolved.connectionsThreshold}`,
        filter: DATA_TIER_METRICS.sqlConnections,
        aligner: "ALIGN_MEAN",
        reducer: "REDUCE_SUM",
        groupBy: "resource.labels.database_id",
        threshold: resolved.connectionsThreshold,
        duration: fiveMinutes,
      },
      "redis-memory": {
        displayName: `Redis memory above ${resolved.redisMemoryRatio}`,
        filter: DATA_TIER_METRICS.redisMemory,
        aligner: "ALIGN_MEAN",
        reducer: "REDUCE_MAX",
        groupBy: "resource.labels.instance_id",
        threshold: resolved.redisMemoryRatio,
        duration: fiveMinutes,
      },
      // Failing checks from more than one checker region, so one region's network blip does not page.
      uptime: {
        displayName: "Uptime check of /healthz failing",
        filter: pulumi.interpolate`metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url" AND resource.labels.host="${target.host}"`,
        aligner: "ALIGN_NEXT_OLDER",
        reducer: "REDUCE_COUNT_FALSE",
        groupBy: "resource.labels.host",
        threshold: 1,
        duration: "60s",
      },
    };
    for (const [alert, condition] of Object.entries(alerts)) {
      new gcp.monitoring.AlertPolicy(
        `${name}-${alert}`,
        {
          project,
          displayName: `${name}: ${condition.displayName}`,
          combiner: "OR",
          conditions: [thresholdCondition(condition)],
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
      // One service whatever the platform: SLO history survives a move between platforms.
      { project, serviceId: `${name}-api`, displayName: `${name} API (edge)` },
      childOpts,
    );
    new gcp.monitoring.Slo(
      `${name}-availability`,
      {
        project,
        service: service.serviceId,
        sloId: "availability",
        displayName: `${percent(resolved.availabilityGoal)}% of requests without a 5xx`,
        goal: resolved.availabilityGoal,
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
        displayName: `${percent(resolved.latencyGoal)}% of requests under ${resolved.latencyThresholdMs} ms`,
        goal: resolved.latencyGoal,
        rollingPeriodDays: 28,
        requestBasedSli: {
          distributionCut: {
            distributionFilter: api.latency,
            range: { max: resolved.latencyThresholdMs / MS_PER_EDGE_LATENCY_UNIT },
          },
        },
      },
      { parent: this },
    );

    this.dashboardId = dashboard.id;
    this.serviceId = service.serviceId;
    this.registerOutputs({ dashboardId: this.dashboardId, serviceId: this.serviceId });
  }
}
