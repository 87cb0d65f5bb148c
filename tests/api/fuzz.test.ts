// Property-based abuse of a running API: random and hostile methods, paths, queries, headers and
// bodies. The contract (app-image/openapi.json): no input yields a 5xx other than 503, nor crashes
// or hangs the process.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApiProcess, startApi } from "../../local/api";
import { RawRequest, rawExchange, rawRequest, statusOfRawReply } from "../../local/http";
import { ItemsClient, expectStatus, uniqueName } from "../support/items";
import { useSharedEnvironment } from "../support/mocha";

const environment = useSharedEnvironment();

/** Set FUZZ_SEED to replay a failing run (fast-check prints the seed). */
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

const acceptable = (status: number): boolean => status < 500 || status === 503;

/** Characters node:http accepts in a header value. */
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
});

const hostileJson = [
  '{"name":"x","__proto__":{"polluted":true}}',
  '{"name":"x","data":{"__proto__":{"polluted":true}}}',
  '{"name":"x","constructor":{"prototype":{"polluted":true}}}',
  '{"name":"x","data":{"constructor":{"prototype":{"polluted":true}}}}',
  '{"__proto__":{"name":"x"}}',
  '{"name":"a\\u0000b"}',
  '{"name":"x","data":{"k":"\\u0000"}}',
  '{"name":"x","data":{"\\u0000":1}}',
  '{"name":"\\ud800"}',
  '{"name":"x","data":{"k":"\\udfff"}}',
  '{"name":"x","data":{"n":1e999}}',
  '{"name":"x","data":{"n":-0,"m":1e-400,"big":123456789012345678901234567890}}',
  '{"name":"x","name":"y"}',
  '{"name":"x","data":{},"data":[]}',
  '{"name":"x"} trailing',
  '\ufeff{"name":"x"}',
  "{'name':'x'}",
];

function deepNesting(depth: number, style: "object" | "array"): string {
  const [open, close] = style === "object" ? ['{"a":', "}"] : ["[", "]"];
  return `{"name":"deep","data":{"d":${open.repeat(depth)}1${close.repeat(depth)}}}`;
}

const bodyArbitrary = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        name: fc.oneof(fc.string({ maxLength: 250 }), fc.jsonValue()),
        data: fc.oneof(fc.object(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc
    .record({
      name: fc.string({ minLength: 1, maxLength: 200 }),
      data: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
    })
    .map((value) => JSON.stringify(value)),
  fc.constantFrom(...hostileJson),
  fc
    .tuple(fc.integer({ min: 50, max: 60_000 }), fc.constantFrom("object", "array"))
    .map(([depth, style]) => deepNesting(depth, style)),
  fc.string({ unit: "binary" }),
  fc.integer({ min: 1, max: 3 }).map((size) => JSON.stringify({ name: "n".repeat(size * 400_000) })),
  fc.integer({ min: 1, max: 2 }).map((size) => "x".repeat(size * 700_000)),
);

function requestArbitrary(existingId: string): fc.Arbitrary<RawRequest> {
  const path = fc.oneof(
    fc.constant("/v1/items"),
    fc.constant(`/v1/items/${existingId}`),
    fc.uuid().map((id) => `/v1/items/${id}`),
    fc.string({ unit: "binary" }).map((segment) => `/v1/items/${encodeURIComponent(segment)}`),
    fc.constantFrom(
      "/v1/items/",
      "/v1/items//",
      "/v1//items",
      "/v1/items/%",
      "/v1/items/%zz",
      "/v1/items/..%2f..%2fetc%2fpasswd",
      `/v1/items/${"a".repeat(5000)}`,
      "/v1/items/__proto__",
      "/v1/items/constructor",
      "/healthz/",
      "/readyz",
      "/metrics",
      "/",
      "/%ff",
      "*",
    ),
    // node:http sends the path verbatim; malformed request lines are the raw-bytes property's job
    fc.webPath().map((path) => (path.startsWith("/") ? path : `/${path}`)),
  );
  const query = fc.oneof(
    fc.constant(""),
    fc.webQueryParameters().map((params) => `?${params}`),
    fc
      .record(
        {
          limit: fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.string()),
          cursor: fc.oneof(fc.string({ unit: "binary" }), fc.base64String()),
        },
        { requiredKeys: [] },
      )
      .map((params) => `?${new URLSearchParams(params).toString()}`),
    fc.constantFrom(
      "?limit=1&limit=2",
      "?cursor=&cursor=x",
      "?limit[]=1",
      "?__proto__[x]=1",
      "?constructor=1",
    ),
  );
  const headers = fc.record(
    {
      "content-type": fc.oneof(
        fc.constantFrom(
          "application/json",
          "application/json; charset=utf-8",
          "application/json; charset=latin1",
          "APPLICATION/JSON",
          "application/problem+json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data",
          "*/*",
          "",
        ),
        headerValue,
      ),
      "if-match": fc.oneof(
        fc.constantFrom(
          '"1"',
          '"2"',
          "*",
          'W/"1"',
          '"-1"',
          '"abc"',
          '""',
          '"99999999999999999999"',
          "1",
          '"1", "2"',
        ),
        headerValue,
      ),
      traceparent: fc.oneof(
        fc
          .tuple(fc.stringMatching(/^[0-9a-f]{32}$/), fc.stringMatching(/^[0-9a-f]{16}$/))
          .map(([trace, span]) => `00-${trace}-${span}-01`),
        fc.constantFrom(
          "00-zz-zz-01",
          "00-00000000000000000000000000000000-0000000000000000-00",
          "ff-".repeat(100),
        ),
        headerValue,
      ),
      "x-cloud-trace-context": headerValue,
      accept: headerValue,
      "accept-encoding": fc.constantFrom("gzip", "br", "identity;q=0", "*"),
    },
    { requiredKeys: [] },
  );
  return fc
    .record({
      method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "FOO"),
      path,
      query,
      headers,
      body: fc.option(bodyArbitrary, { nil: undefined }),
    })
    .map(({ method, path: target, query: search, headers: sent, body }) => ({
      method,
      path: target === "*" ? target : target + search,
      headers: sent,
      body,
    }));
}

const MALFORMED_HTTP = [
  "GARBAGE\r\n\r\n",
  "GET / HTTP/9.9\r\n\r\n",
  "GET /v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
  "POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  'POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"na',
  `GET /v1/items HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
  "GET /v1/items/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET /v1/items HTTP/1.1\r\nHost: x\r\nTraceparent: \u0001\u0002\r\n\r\n",
  'PUT /v1/items/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: x\r\nIf-Match: \u00ff\u00fe\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"name":"x"}',
];

describe("fuzz: hostile input never yields a 5xx (except 503) nor stops the API", function () {
  this.timeout(120_000);
  let api: ApiProcess;
  let client: ItemsClient;
  let existingId: string;

  before(async () => {
    const { apiEnv } = await environment();
    api = await startApi(apiEnv, { waitReady: true });
    client = new ItemsClient(api.baseUrl);
    existingId = (await client.create(uniqueName("fuzz-target"))).id;
  });

  after(async () => {
    await api?.stop();
  });

  afterEach(async () => {
    assert.ok(api.running(), `the API died: ${api.stderr()}`);
    expectStatus(await client.request("GET", "/healthz"), 200, "GET /healthz after fuzzing");
  });

  it("answers random requests with < 500 or 503", async () => {
    await fc.assert(
      fc.asyncProperty(requestArbitrary(existingId), async (request) => {
        const response = await rawRequest(api.port, { ...request, timeoutMs: 10_000 });
        assert.ok(
          acceptable(response.status),
          `${request.method} ${request.path.slice(0, 200)} → ${response.status} ${response.text.slice(0, 300)}`,
        );
      }),
      { numRuns: 400, seed },
    );
  });

  it("answers hostile JSON bodies on POST and PUT with < 500 or 503", async () => {
    const write = fc.record({
      method: fc.constantFrom("POST", "PUT"),
      contentType: fc.constantFrom("application/json", "application/json; charset=utf-8"),
      body: bodyArbitrary,
    });
    await fc.assert(
      fc.asyncProperty(write, async ({ method, contentType, body }) => {
        const path = method === "POST" ? "/v1/items" : `/v1/items/${existingId}`;
        const response = await rawRequest(api.port, {
          method,
          path,
          headers: { "content-type": contentType },
          body,
          timeoutMs: 10_000,
        });
        assert.ok(
          acceptable(response.status),
          `${method} ${path} ${body.slice(0, 200)} → ${response.status} ${response.text.slice(0, 300)}`,
        );
      }),
      { numRuns: 200, seed },
    );
  });

  it("answers malformed HTTP and random bytes with < 500 or 503 (or a closed connection)", async () => {
    const raw = fc.oneof(
      fc.constantFrom(...MALFORMED_HTTP),
      fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const { reply } = await rawExchange(api.port, Buffer.from(bytes, "latin1"), 3_000);
        const status = statusOfRawReply(reply);
        assert.ok(
          status === undefined || acceptable(status),
          `${JSON.stringify(bytes.slice(0, 80))} → ${reply}`,
        );
      }),
      { numRuns: 60, seed },
    );
  });
});
