import fp from "fastify-plugin";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { cacheMetrics, type CacheMetrics } from "../cache";
import type { PoolStats } from "../database";

export interface Metrics extends CacheMetrics {
  /** Where other plugins register their own metrics (load-shedding.ts: requests in flight). */
  readonly registry: Registry;
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

// Requests that never matched a route share one label value, so the label set stays fixed.
const UNMATCHED_ROUTE = "unmatched";
const HTTP_LABELS = ["method", "route", "status"] as const;
type HttpLabel = (typeof HTTP_LABELS)[number];

/** Prometheus metrics on an own registry, served at /metrics. */
export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const registers = [registry];

    const requests = new Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route template and status",
      labelNames: HTTP_LABELS,
      registers,
    });
    const duration = new Histogram({
      name: "http_request_duration_seconds",
      help: "Time from request to response, by method, route template and status",
      labelNames: HTTP_LABELS,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const poolGauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["pool"] as const,
        registers,
        collect() {
          for (const stats of app.db.poolStats()) this.set({ pool: stats.pool }, read(stats));
        },
      });
    poolGauge("db_pool_size", "Open connections to the server", (stats) => stats.open);
    poolGauge("db_pool_idle", "Open connections with no statement in flight", (stats) => stats.idle);
    poolGauge(
      "db_pool_waiting_clients",
      "Statements queued behind another one on their pipelined connection",
      (stats) => stats.waiting,
    );

    app.decorate("metrics", { registry, ...cacheMetrics(registers) });

    // One pair of label children per method, route and status (a fixed set), looked up by one
    // string: it saves building the label object and the children per response. prom-client still
    // validates and hashes the labels inside each inc and observe (~1 µs per request in the profile).
    const byLabels = new Map<
      string,
      { readonly requests: Counter.Internal; readonly duration: Histogram.Internal<HttpLabel> }
    >();
    const seriesOf = (method: string, route: string, status: number) => {
      const labelsKey = `${method} ${route} ${status}`;
      let series = byLabels.get(labelsKey);
      if (series === undefined) {
        const labels = { method, route, status: String(status) };
        series = { requests: requests.labels(labels), duration: duration.labels(labels) };
        byLabels.set(labelsKey, series);
      }
      return series;
    };

    // A callback hook: an async one costs a promise on every response.
    app.addHook("onResponse", (request, reply, done) => {
      const series = seriesOf(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode);
      series.requests.inc();
      series.duration.observe(reply.elapsedTime / 1_000);
      done();
    });

    app.get("/metrics", async (_request, reply) => {
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  },
  { name: "metrics", dependencies: ["db"], fastify: "5.x" },
);
