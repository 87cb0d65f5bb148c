import fp from "fastify-plugin";
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
    const gauge = app.metrics.httpRequestsInFlight;
    let inFlight = 0;

    app.addHook("onRequest", async (request, reply) => {
      if (PROBE_PATHS.has(request.routeOptions.url ?? "")) return;
      if (inFlight >= maxInFlight) throw serviceUnavailable("Too many requests in flight; retry shortly", 1);
      inFlight += 1;
      gauge.set(inFlight);
      // "close" fires once per response, also when the client went away before it was sent.
      reply.raw.once("close", () => {
        inFlight -= 1;
        gauge.set(inFlight);
      });
    });
  },
  { name: "load-shedding", dependencies: ["metrics"], fastify: "5.x" },
);
