import fp from "fastify-plugin";
import { Gauge } from "prom-client";
import { serviceUnavailable } from "./errors";
import { PROBE_PATHS } from "./health";

export interface LoadSheddingOptions {
  readonly maxInFlight: number;
}

/**
 * Bounds the requests handled at once. Above the bound a request is refused at once with 503 and
 * Retry-After, which the load balancer or client retries elsewhere, instead of queueing until
 * every request times out.
 */
export const loadSheddingPlugin = fp<LoadSheddingOptions>(
  async (app, { maxInFlight }) => {
    let inFlight = 0;
    const release = () => {
      inFlight -= 1;
    };
    // Read when /metrics is scraped, not set on every request.
    new Gauge({
      name: "http_requests_in_flight",
      help: "Requests being handled (health and metrics endpoints excluded)",
      registers: [app.metrics.registry],
      collect() {
        this.set(inFlight);
      },
    });

    // A callback hook with one shared listener: an async hook costs a promise, and a closure or
    // `once` wrapper an allocation, on every request.
    app.addHook("onRequest", (request, reply, done) => {
      if (PROBE_PATHS.has(request.routeOptions.url ?? "")) return done();
      if (inFlight >= maxInFlight)
        return done(serviceUnavailable("Too many requests in flight; retry shortly", 1));
      inFlight += 1;
      // "close" fires exactly once per response, also when the client went away before it was sent.
      reply.raw.on("close", release);
      done();
    });
  },
  { name: "load-shedding", dependencies: ["metrics"], fastify: "5.x" },
);
