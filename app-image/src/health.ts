import fp from "fastify-plugin";
import { serviceUnavailable } from "./errors";

declare module "fastify" {
  interface FastifyInstance {
    /** Starts the shutdown drain: /readyz answers 503 so the load balancer stops sending traffic. */
    startDraining(): void;
  }
}

const READINESS_TIMEOUT_MS = 1_000;

/** Paths that must answer even when the process is overloaded; not counted as work in flight. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

/** Liveness (`/healthz`, no dependency) and readiness (`/readyz`, primary database and not draining). */
export const healthPlugin = fp(
  async (app) => {
    let draining = false;
    app.decorate("startDraining", () => {
      draining = true;
    });

    // While draining, close each connection after its response so clients reconnect elsewhere.
    app.addHook("onSend", async (_request, reply) => {
      if (draining) reply.header("connection", "close");
    });

    app.get("/healthz", async () => ({ status: "ok" }));

    app.get("/readyz", async () => {
      if (draining) throw serviceUnavailable("Shutting down", 1);
      if (!(await app.db.primaryAnswers(READINESS_TIMEOUT_MS))) {
        throw serviceUnavailable("The primary database does not answer", 1);
      }
      return { status: "ready" };
    });
  },
  { name: "health", dependencies: ["db"], fastify: "5.x" },
);
