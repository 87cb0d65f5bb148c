// OpenTelemetry tracing, loaded only when TRACE_EXPORTER is set: with tracing off no SDK module is
// required and no hook runs, so a request costs what it did before. One server span per request,
// started in an onRequest hook and ended in onResponse; no require-hook auto-instrumentation, which in
// CommonJS only works when it is installed before `pg` and `redis` are first required.
import type { Span } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { TracingConfig } from "./config";
import { errorMessage, parseTrace, type Logger, type TraceContext } from "./logging";

export interface Tracing {
  /** Adds the server-span hooks; register before the routes. */
  readonly plugin: FastifyPluginAsync;
  /** The trace ids of the request's server span, for its log line. */
  readonly traceOf: (request: FastifyRequest) => TraceContext | undefined;
  /** Exports the spans still queued, then stops; gives up after `timeoutMs`. */
  readonly shutdown: (timeoutMs: number) => Promise<void>;
}

const SERVICE_NAME = "items-api";
const GCP_PROJECT_ID_ATTRIBUTE = "gcp.project_id";

/**
 * Logs the first export failure only: without credentials (or a collector) every batch fails the same
 * way, and the spans are dropped either way.
 */
function failureReporter(destination: string, log: Logger): (error: unknown) => void {
  let reported = false;
  return (error) => {
    if (reported) return;
    reported = true;
    log.warn(
      `trace export to ${destination} failed (${errorMessage(error)}); spans are dropped while it fails, logged once`,
    );
  };
}

function reportingFailures(exporter: SpanExporter, report: (error: unknown) => void): SpanExporter {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.error !== undefined) report(result.error);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

// Cloud Trace's OTLP endpoint (the Telemetry API); the legacy Cloud Trace exporter package is
// deprecated and pulls in gRPC and protobufjs.
const TELEMETRY_API_TRACES = "https://telemetry.googleapis.com/v1/traces";
const METADATA_TOKEN_URL =
  "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
const TOKEN_FETCH_TIMEOUT_MS = 2_000;
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * Access tokens of the workload's service account from the metadata server (GKE Workload Identity,
 * Cloud Run), cached until a minute before they expire. Outside Google Cloud the fetch fails fast,
 * and with it the export.
 */
function metadataServerToken(): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (cached !== undefined && Date.now() < cached.expiresAt) return cached.token;
    const response = await fetch(METADATA_TOKEN_URL, {
      headers: { "Metadata-Flavor": "Google" },
      signal: AbortSignal.timeout(TOKEN_FETCH_TIMEOUT_MS),
    }).catch((error: unknown) => {
      // fetch's own message is only "fetch failed"; the reason (e.g. ENOTFOUND) is its cause.
      const reason = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new Error(`no token from the metadata server: ${errorMessage(reason)}`);
    });
    if (!response.ok) throw new Error(`metadata server token request: HTTP ${response.status}`);
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== "string" || typeof body.expires_in !== "number") {
      throw new Error("metadata server token request: no access_token in the answer");
    }
    cached = {
      token: body.access_token,
      expiresAt: Date.now() + body.expires_in * 1_000 - TOKEN_REFRESH_MARGIN_MS,
    };
    return cached.token;
  };
}

async function createExporter(config: TracingConfig, project: string | undefined): Promise<SpanExporter> {
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  if (config.exporter === "otlp") {
    // Reads OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT itself (base + /v1/traces).
    return new OTLPTraceExporter();
  }
  const token = metadataServerToken();
  return new OTLPTraceExporter({
    url: TELEMETRY_API_TRACES,
    headers: async () => ({
      authorization: `Bearer ${await token()}`,
      ...(project === undefined ? {} : { "x-goog-user-project": project }),
    }),
  });
}

/** Loads the SDK and starts a tracer provider that exports through `config.exporter`. */
export async function startTracing(
  config: TracingConfig,
  project: string | undefined,
  log: Logger,
): Promise<Tracing> {
  const [api, core, sdk, resources, semconv] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const destination =
    config.exporter === "cloudtrace"
      ? `Cloud Trace (${TELEMETRY_API_TRACES})`
      : (config.otlpEndpoint ?? "the default OTLP endpoint");
  const reportFailure = failureReporter(destination, log);
  const exporter = reportingFailures(await createExporter(config, project), reportFailure);
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: SERVICE_NAME,
      // The Telemetry API files spans under this project.
      ...(project === undefined ? {} : { [GCP_PROJECT_ID_ATTRIBUTE]: project }),
    }),
    // An incoming sampled flag decides; a request without a trace context starts one at the ratio.
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer(SERVICE_NAME);
  const propagator = new core.W3CTraceContextPropagator();
  const spans = new WeakMap<FastifyRequest, Span>();

  const parentOf = (request: FastifyRequest) => {
    const fromW3c = propagator.extract(api.ROOT_CONTEXT, request.headers, api.defaultTextMapGetter);
    if (api.trace.getSpanContext(fromW3c) !== undefined) return fromW3c;
    // Google's own header, still sent by some load balancers and clients.
    const google = parseTrace(undefined, request.headers["x-cloud-trace-context"]);
    if (google?.spanId === undefined) return api.ROOT_CONTEXT;
    return api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: google.traceId,
      spanId: google.spanId,
      traceFlags: google.sampled === true ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
      isRemote: true,
    });
  };

  const endSpan = (request: FastifyRequest, status: number | undefined) => {
    const span = spans.get(request);
    // Kept in the map: the request's log line, written by a later onResponse hook, reads its ids.
    if (span === undefined) return;
    if (status === undefined) {
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: "request aborted by the client" });
    } else {
      span.setAttribute(semconv.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
    }
    span.end();
  };

  const plugin = fp(
    async (app: FastifyInstance) => {
      app.addHook("onRequest", async (request) => {
        const route = request.routeOptions.url;
        const attributes = {
          [semconv.ATTR_HTTP_REQUEST_METHOD]: request.method,
          [semconv.ATTR_URL_PATH]: request.url.split("?", 1)[0],
          ...(route === undefined ? {} : { [semconv.ATTR_HTTP_ROUTE]: route }),
        };
        // Named by the route template, never the raw path, so span names stay few.
        const name = route === undefined ? request.method : `${request.method} ${route}`;
        spans.set(
          request,
          tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, parentOf(request)),
        );
      });
      app.addHook("onResponse", async (request, reply) => endSpan(request, reply.statusCode));
      app.addHook("onRequestAbort", async (request) => endSpan(request, undefined));
    },
    { name: "tracing", fastify: "5.x" },
  );

  const traceOf = (request: FastifyRequest): TraceContext | undefined => {
    const context = spans.get(request)?.spanContext();
    // No span: the request failed before routing (e.g. a malformed URL); the headers still tell.
    if (context === undefined) {
      return parseTrace(request.headers["traceparent"], request.headers["x-cloud-trace-context"]);
    }
    return {
      traceId: context.traceId,
      spanId: context.spanId,
      sampled: (context.traceFlags & api.TraceFlags.SAMPLED) !== 0,
    };
  };

  const shutdown = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, timeoutMs));
    });
    try {
      // A failed last export rejects here; it was reported like any other.
      const flushed = provider.shutdown().then(
        () => "done" as const,
        (error: unknown) => {
          reportFailure(error);
          return "failed" as const;
        },
      );
      const outcome = await Promise.race([flushed, gaveUp]);
      if (outcome === "timeout")
        log.warn(`trace export did not finish within ${timeoutMs} ms; spans dropped`);
    } finally {
      clearTimeout(timer);
    }
  };

  log.info(`tracing on: ${destination}, sample ratio ${config.sampleRatio} for new traces`);
  return { plugin, traceOf, shutdown };
}
