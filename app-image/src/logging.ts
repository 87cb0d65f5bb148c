import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import pino from "pino";
import type { LogLevel } from "./config";

/** What the modules log through: the app's logger or a child of it. */
export type Logger = FastifyBaseLogger;

// Cloud Logging reads `severity` and `message`; pino's numeric `level` would be ignored.
const SEVERITY: Readonly<Record<string, string>> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

/**
 * pino's `isoTime` builds a Date and its ISO string for every line; under load many lines fall in one
 * millisecond, so the field is built once per millisecond instead (about 1 µs per request saved).
 */
export function isoTimeOncePerMillisecond(now: () => number = Date.now): () => string {
  let builtAt = Number.NaN;
  let field = "";
  return () => {
    const ms = now();
    if (ms !== builtAt) {
      builtAt = ms;
      field = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return field;
  };
}

/** JSON lines (on stdout unless `destination` says otherwise) in the field names Google Cloud Logging understands. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    messageKey: "message",
    timestamp: isoTimeOncePerMillisecond(),
    formatters: { level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }) },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** `host:port` of a connection URL: never its user, password or query. */
export function describeEndpoint(connectionUrl: string): string {
  const { hostname, port, searchParams } = new URL(connectionUrl);
  // A PostgreSQL unix socket lives in the `host` query parameter.
  return `${hostname || searchParams.get("host") || "localhost"}${port ? `:${port}` : ""}`;
}

/** The message of an error, for logs; stacks are for unexpected errors only. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLOUD_TRACE_CONTEXT = /^([0-9a-f]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/;
const ALL_ZEROS = /^0+$/;

/** The trace a request belongs to, as its log line names it. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string | undefined;
  readonly sampled: boolean | undefined;
}

/** W3C `traceparent` first, then `X-Cloud-Trace-Context`; malformed headers are ignored. */
export function parseTrace(traceparent: unknown, cloudTraceContext: unknown): TraceContext | undefined {
  const w3c = typeof traceparent === "string" ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (w3c?.[1] && w3c[2] && w3c[3] && !ALL_ZEROS.test(w3c[1]) && !ALL_ZEROS.test(w3c[2])) {
    return { traceId: w3c[1], spanId: w3c[2], sampled: (parseInt(w3c[3], 16) & 1) === 1 };
  }
  const google =
    typeof cloudTraceContext === "string"
      ? CLOUD_TRACE_CONTEXT.exec(cloudTraceContext.trim().toLowerCase())
      : null;
  if (google?.[1] && !ALL_ZEROS.test(google[1])) {
    // Cloud Logging wants the span as 16 hex digits; this header carries it in decimal.
    const span = google[2] === undefined ? undefined : BigInt(google[2]);
    const spanId =
      span !== undefined && span > 0n && span < 2n ** 64n ? span.toString(16).padStart(16, "0") : undefined;
    return { traceId: google[1], spanId, sampled: google[3] === undefined ? undefined : google[3] === "1" };
  }
  return undefined;
}

/** The `logging.googleapis.com/*` fields that link a log line to its trace. */
export function traceLogFields(
  trace: TraceContext | undefined,
  project: string | undefined,
): Record<string, string | boolean> {
  if (!trace) return {};
  const fields: Record<string, string | boolean> = {
    "logging.googleapis.com/trace": project ? `projects/${project}/traces/${trace.traceId}` : trace.traceId,
  };
  if (trace.spanId) fields["logging.googleapis.com/spanId"] = trace.spanId;
  if (trace.sampled !== undefined) fields["logging.googleapis.com/trace_sampled"] = trace.sampled;
  return fields;
}

export interface RequestLogOptions {
  readonly googleCloudProject: string | undefined;
  /** The trace of a request when tracing is on (its server span); the request headers otherwise. */
  readonly traceOf?: (request: FastifyRequest) => TraceContext | undefined;
}

const traceFromHeaders = (request: FastifyRequest) =>
  parseTrace(request.headers["traceparent"], request.headers["x-cloud-trace-context"]);

/** One log line per request, with the `httpRequest` object Cloud Logging shows as a request. */
export const requestLogPlugin = fp<RequestLogOptions>(
  async (app, { googleCloudProject, traceOf = traceFromHeaders }) => {
    // A callback hook: an async one costs a promise on every response.
    app.addHook("onResponse", (request, reply, done) => {
      const status = reply.statusCode;
      const responseSize = reply.getHeader("content-length");
      const fields = {
        httpRequest: {
          requestMethod: request.method,
          requestUrl: request.url,
          status,
          latency: `${(reply.elapsedTime / 1_000).toFixed(3)}s`,
          userAgent: request.headers["user-agent"],
          remoteIp: request.ip,
          responseSize: responseSize === undefined ? undefined : String(responseSize),
          protocol: `HTTP/${request.raw.httpVersion}`,
        },
        ...traceLogFields(traceOf(request), googleCloudProject),
      };
      const message = `${request.method} ${request.url} ${status}`;
      if (status === 503) request.log.warn(fields, message);
      else if (status >= 500) request.log.error(fields, message);
      else request.log.info(fields, message);
      done();
    });
  },
  { name: "request-log", fastify: "5.x" },
);
