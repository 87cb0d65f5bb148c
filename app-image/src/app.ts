import Fastify, { LogController, type FastifyInstance } from "fastify";
import type { Config } from "./config";
import { answerClientError, readRestOfBody, registerErrorHandling, sendFrameworkError } from "./errors";
import { healthPlugin } from "./health";
import { CachedItemsRepository } from "./items/cached-repository";
import { PostgresItemsRepository } from "./items/repository";
import { itemRoutes } from "./items/routes";
import { loadSheddingPlugin } from "./load-shedding";
import { createLogger, requestLogPlugin, type Logger } from "./logging";
import type { Tracing } from "./tracing";
import { cachePlugin } from "./plugins/cache";
import { dbPlugin } from "./plugins/db";
import { metricsPlugin } from "./plugins/metrics";

/** The configuration once the database location is known (server.ts may start an embedded one). */
export type AppConfig = Config & { readonly databaseUrl: string };

export interface AppDeps {
  /** Defaults to JSON lines on stdout at the configured level. */
  readonly logger?: Logger;
  /** Server spans per request and their ids in the log lines; off when undefined. */
  readonly tracing?: Tracing;
  /** Registered before any route, so it sees every one: the OpenAPI generator's hook (openapi.ts). */
  readonly beforeRoutes?: (app: FastifyInstance) => Promise<void>;
}

export const BODY_LIMIT_BYTES = 1024 * 1024;
// Longer than the idle timeout of Google's load balancers (600 s), so the balancer, never this
// process, closes an idle keep-alive connection; otherwise a request sent on a connection just
// being closed here fails with a 502.
const KEEP_ALIVE_TIMEOUT_MS = 620_000;
// Upper bound to receive a whole request (headers and body) from a slow or stalled client.
const REQUEST_TIMEOUT_MS = 30_000;
// Node's 16 KiB header limit bounds the URL first.
const MAX_PATH_PARAMETER_LENGTH = 16 * 1024;

/** The HTTP app, ready to `listen` or `inject`; it owns its pools and cache client. */
export async function buildApp(config: AppConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger ?? createLogger(config.logLevel),
    // requestLogPlugin writes the one line per request, in Cloud Logging's shape.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // On close, idle keep-alive connections end at once; busy ones after their response.
    forceCloseConnections: "idle",
    // A request that still arrives on an open connection during close is served, not refused.
    return503OnClosing: false,
    // Any over-long id reaches the route and its UUID check (a 400), not the router's bare 414.
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    frameworkErrors: sendFrameworkError,
    clientErrorHandler: answerClientError,
  });

  await deps.beforeRoutes?.(app);
  registerErrorHandling(app);
  // Bodies are JSON only; any other Content-Type, text/plain included, is a 415.
  app.removeContentTypeParser("text/plain");
  // JSON is always UTF-8 and RFC 8259 defines no charset parameter: send the bare media type.
  // An early answer waits for the rest of the body, so that the client can read it (errors.ts).
  // A callback hook: an async one costs a promise on every response.
  app.addHook("onSend", (request, reply, payload, done) => {
    if (reply.getHeader("content-type") === "application/json; charset=utf-8") reply.type("application/json");
    if (request.raw.complete) return done(null, payload);
    void readRestOfBody(request.raw).then(() => done(null, payload));
  });
  if (deps.tracing) await app.register(deps.tracing.plugin);
  await app.register(requestLogPlugin, {
    googleCloudProject: config.googleCloudProject,
    traceOf: deps.tracing?.traceOf,
  });
  await app.register(dbPlugin, {
    primaryUrl: config.databaseUrl,
    replicaUrls: config.databaseReplicaUrls,
    poolMax: config.databasePoolMax,
    caCert: config.databaseCaCert,
  });
  await app.register(metricsPlugin);
  await app.register(cachePlugin, {
    url: config.redisUrl,
    caCert: config.redisCaCert,
    timeoutMs: config.redisTimeoutMs,
    ttlSeconds: config.cacheTtlSeconds,
  });
  await app.register(loadSheddingPlugin, { maxInFlight: config.maxInFlight });
  await app.register(healthPlugin);

  const stored = new PostgresItemsRepository(app.db);
  const repository = app.cache ? new CachedItemsRepository(stored, app.cache) : stored;
  await app.register(itemRoutes, { repository });
  return app;
}
