// Tracing (TRACE_EXPORTER): the request log line carries the trace of the incoming traceparent with
// tracing off and on; with TRACE_EXPORTER=otlp the server span reaches a real OTLP/HTTP JSON collector
// (a node:http server in this process) by the shutdown flush at the latest; bad TRACE_* config stops
// the process with one line naming the variable.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiProcess, runApiUntilExit, startApi } from "../../local/api";
import { useSharedEnvironment } from "../support/mocha";
import { freePort, waitFor } from "../../local/processes";

const environment = useSharedEnvironment();

const newTraceId = (): string => randomBytes(16).toString("hex");
const newSpanId = (): string => randomBytes(8).toString("hex");

interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes: ReadonlyArray<{
    key: string;
    value: { stringValue?: string; intValue?: number | string };
  }>;
}

interface OtlpTraceRequest {
  resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: ExportedSpan[] }> }>;
}

/** An OTLP/HTTP collector that accepts JSON on /v1/traces and keeps every span it receives. */
async function startCollector(): Promise<{ server: Server; endpoint: string; spans: ExportedSpan[] }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      if (request.method !== "POST" || request.url !== "/v1/traces") {
        response.writeHead(404).end();
        return;
      }
      const payload = JSON.parse(body) as OtlpTraceRequest;
      for (const resource of payload.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) spans.push(...(scope.spans ?? []));
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, spans };
}

function attribute(span: ExportedSpan, key: string): string | undefined {
  const value = span.attributes.find((candidate) => candidate.key === key)?.value;
  return value === undefined ? undefined : String(value.stringValue ?? value.intValue);
}

/** GETs `path` with a traceparent and returns the request's log line once it is written. */
async function tracedRequest(api: ApiProcess, path: string, sampled: boolean) {
  const traceId = newTraceId();
  const parentSpanId = newSpanId();
  const response = await fetch(`${api.baseUrl}${path}`, {
    headers: { traceparent: `00-${traceId}-${parentSpanId}-${sampled ? "01" : "00"}` },
  });
  await response.arrayBuffer();
  const line = await waitFor(`the log line of trace ${traceId}`, async () => {
    const found = api.logs.find((candidate) => candidate.includes(traceId));
    return found === undefined ? undefined : (JSON.parse(found) as Record<string, unknown>);
  });
  return { traceId, parentSpanId, status: response.status, line };
}

describe("tracing", function () {
  const running: ApiProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const { apiEnv } = await environment();
    const api = await startApi({ ...apiEnv, LOG_LEVEL: "info", SHUTDOWN_DRAIN_MS: "0", ...env });
    running.push(api);
    return api;
  };
  after(async () => {
    await Promise.all(running.splice(0).map((api) => api.stop("SIGKILL")));
  });

  it("off (the default): the log line carries the traceparent's trace and span ids", async () => {
    const api = await start({});
    const { traceId, parentSpanId, line } = await tracedRequest(api, `/v1/items/${randomUUID()}`, true);
    assert.equal(line["logging.googleapis.com/trace"], traceId);
    assert.equal(line["logging.googleapis.com/spanId"], parentSpanId);
    assert.equal(line["logging.googleapis.com/trace_sampled"], true);
  });

  describe("TRACE_EXPORTER=otlp with a local collector", () => {
    let collector: Awaited<ReturnType<typeof startCollector>>;
    let api: ApiProcess;

    before(async () => {
      collector = await startCollector();
      api = await start({
        TRACE_EXPORTER: "otlp",
        TRACE_SAMPLE_RATIO: "1",
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      });
    });
    after(async () => {
      await api.stop("SIGKILL");
      await new Promise((resolve) => collector.server.close(resolve));
    });

    it("exports one server span per request in the incoming trace, named by the route, and logs its ids", async () => {
      const sampled = await tracedRequest(api, `/v1/items/${randomUUID()}`, true);
      // TRACE_SAMPLE_RATIO=1, yet an unsampled parent keeps the trace unsampled: sampling is parent-based.
      const unsampled = await tracedRequest(api, "/healthz", false);

      // Queued spans are exported on SIGTERM within the shutdown grace, and the process still exits 0.
      const exit = await api.stop("SIGTERM");
      assert.deepEqual(exit, { code: 0, signal: null }, api.stderr());

      const spans = collector.spans.filter((span) => span.traceId === sampled.traceId);
      assert.equal(spans.length, 1, JSON.stringify(collector.spans));
      const [span] = spans;
      assert.equal(span.name, "GET /v1/items/:id");
      assert.equal(span.parentSpanId, sampled.parentSpanId);
      assert.equal(attribute(span, "http.route"), "/v1/items/:id");
      assert.equal(attribute(span, "http.request.method"), "GET");
      assert.equal(attribute(span, "http.response.status_code"), String(sampled.status));

      assert.equal(sampled.line["logging.googleapis.com/trace"], sampled.traceId);
      assert.equal(sampled.line["logging.googleapis.com/spanId"], span.spanId);
      assert.equal(sampled.line["logging.googleapis.com/trace_sampled"], true);

      assert.equal(unsampled.line["logging.googleapis.com/trace"], unsampled.traceId);
      assert.equal(unsampled.line["logging.googleapis.com/trace_sampled"], false);
      assert.ok(!collector.spans.some((candidate) => candidate.traceId === unsampled.traceId));
    });
  });

  it("TRACE_EXPORTER=cloudtrace without credentials keeps serving, warns once and exits 0 on SIGTERM", async () => {
    const api = await start({
      TRACE_EXPORTER: "cloudtrace",
      TRACE_SAMPLE_RATIO: "1",
      GOOGLE_CLOUD_PROJECT: "demo-project",
    });
    for (let request = 0; request < 3; request++) {
      const { traceId, line } = await tracedRequest(api, "/healthz", true);
      assert.equal(line["logging.googleapis.com/trace"], `projects/demo-project/traces/${traceId}`);
    }
    const exit = await api.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, api.stderr());
    const warnings = api.logs.filter((line) => line.includes("trace export to Cloud Trace"));
    assert.equal(warnings.length, 1, api.logs.join("\n"));
  });

  // [variable named in the error, environment]
  const MALFORMED: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ["TRACE_EXPORTER", { TRACE_EXPORTER: "jaeger" }],
    ["TRACE_EXPORTER", { TRACE_EXPORTER: "cloudtrace" }], // without GOOGLE_CLOUD_PROJECT
    ["TRACE_SAMPLE_RATIO", { TRACE_EXPORTER: "otlp", TRACE_SAMPLE_RATIO: "1.5" }],
    ["TRACE_SAMPLE_RATIO", { TRACE_EXPORTER: "otlp", TRACE_SAMPLE_RATIO: "ten percent" }],
    [
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      { TRACE_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" },
    ],
    ["OTEL_EXPORTER_OTLP_PROTOCOL", { TRACE_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }],
  ];
  for (const [variable, env] of MALFORMED) {
    it(`${JSON.stringify(env)} stops the process with a non-zero code and one line naming ${variable}`, async () => {
      const { apiEnv } = await environment();
      const result = await runApiUntilExit({ ...apiEnv, PORT: String(await freePort()), ...env });
      assert.ok(result.code !== null && result.code !== 0, `exit code ${String(result.code)}`);
      assert.equal(result.outputLines.length, 1, `one line, got:\n${result.outputLines.join("\n")}`);
      assert.ok(result.outputLines[0].includes(variable), `names ${variable}: ${result.outputLines[0]}`);
    });
  }
});
