// The API's OpenAPI 3 document, generated from the app itself: @fastify/swagger walks the routes that
// buildApp registers, and each route's documentation below is attached by method and path. Requests
// are validated by the zod rules in items/schema.ts, not by these JSON Schemas (Fastify would then
// validate twice and answer in its own words), so swagger is registered only here, for generation:
// the serving process never loads it and pays nothing per request.
import { STATUS_CODES } from "node:http";
import type { FastifySchema } from "fastify";
import { BODY_LIMIT_BYTES, buildApp } from "./app";
import { loadConfig } from "./config";
import { DATA_MAX_BYTES, DATA_MAX_DEPTH, NAME_MAX_CHARACTERS, PAGE_LIMIT } from "./items/schema";

const ITEM = {
  type: "object",
  required: ["id", "name", "data", "version", "createdAt", "updatedAt"],
  additionalProperties: false,
  properties: {
    id: { type: "string", format: "uuid", description: "chosen by the server" },
    name: { type: "string", minLength: 1, maxLength: NAME_MAX_CHARACTERS },
    data: { type: "object", additionalProperties: true },
    version: { type: "integer", minimum: 1, description: "starts at 1, grows by exactly 1 on every update" },
    createdAt: { type: "string", format: "date-time", description: "ISO 8601 with milliseconds, UTC" },
    updatedAt: { type: "string", format: "date-time", description: "ISO 8601 with milliseconds, UTC" },
  },
};

const ITEM_INPUT = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: {
      type: "string",
      minLength: 1,
      maxLength: NAME_MAX_CHARACTERS,
      description: "counted in characters (code points); no NUL, no unpaired surrogate",
    },
    data: {
      type: "object",
      additionalProperties: true,
      default: {},
      description:
        `a JSON object of at most ${DATA_MAX_BYTES} bytes once serialized, nested at most ` +
        `${DATA_MAX_DEPTH} levels; no NUL, no unpaired surrogate in its strings`,
    },
  },
};

const PAGE = {
  type: "object",
  required: ["items", "nextCursor"],
  additionalProperties: false,
  properties: {
    items: { type: "array", items: ITEM },
    nextCursor: {
      type: ["string", "null"],
      description: "pass as `cursor` for the next page; null on the last page",
    },
  },
};

const PROBLEM = {
  type: "object",
  required: ["type", "title", "status", "detail"],
  properties: {
    type: { type: "string", const: "about:blank" },
    title: { type: "string", description: "the reason phrase of the status" },
    status: { type: "integer", description: "the HTTP status of the response" },
    detail: { type: "string", description: "what was wrong, for a human" },
  },
};

const header = (description: string) => ({ type: "string", description });

const json = (description: string, schema: object, headers?: object) => ({
  description,
  ...(headers && { headers }),
  content: { "application/json": { schema } },
});

const PROBLEM_CASES: Readonly<Record<number, string>> = {
  400: "the body is not valid JSON or breaks the item rules; the id is not a UUID; limit, cursor or If-Match is malformed",
  404: "no such item",
  412: "If-Match does not name the current version",
  413: `the body is larger than ${BODY_LIMIT_BYTES} bytes`,
  415: "a body with a Content-Type other than application/json",
  503: "overloaded (too many requests in flight), shutting down, or the database is unavailable; retry after Retry-After seconds",
};

/** RFC 9457 problem details; every 4xx and 5xx answer has this shape and media type. */
function problems(...statuses: number[]): Record<number, object> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: `${STATUS_CODES[status]}: ${PROBLEM_CASES[status]}`,
        ...(status === 503 && { headers: { "retry-after": header("seconds") } }),
        content: { "application/problem+json": { schema: PROBLEM } },
      },
    ]),
  );
}

const ID_PARAMS = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", format: "uuid", description: "any letter case" } },
};

const ETAG = header('the item version as an entity tag, e.g. "3"');

const ITEM_TAG = ["items"];
const OPERATIONS_TAG = ["operations"];

/** The documentation of every route, by `METHOD path` as Fastify registers it. */
const ROUTES: Readonly<Record<string, FastifySchema & Record<string, unknown>>> = {
  "POST /v1/items": {
    summary: "Create an item",
    tags: ITEM_TAG,
    body: ITEM_INPUT,
    response: {
      201: json("the item", ITEM, { location: header("/v1/items/{id}"), etag: ETAG }),
      ...problems(400, 413, 415, 503),
    },
  },
  "GET /v1/items": {
    summary: "List items, newest first (createdAt, then id); paging never repeats or skips an item",
    tags: ITEM_TAG,
    querystring: {
      type: "object",
      properties: {
        limit: {
          type: "integer",
          minimum: PAGE_LIMIT.min,
          maximum: PAGE_LIMIT.max,
          default: PAGE_LIMIT.default,
        },
        cursor: { type: "string", description: "opaque: nextCursor of the previous page" },
      },
    },
    response: { 200: json("a page of items", PAGE), ...problems(400, 503) },
  },
  "GET /v1/items/:id": {
    summary: "Read an item; after an acknowledged write, returns that write",
    tags: ITEM_TAG,
    params: ID_PARAMS,
    response: { 200: json("the item", ITEM, { etag: ETAG }), ...problems(400, 404, 503) },
  },
  "PUT /v1/items/:id": {
    summary: "Replace an item's name and data",
    tags: ITEM_TAG,
    params: ID_PARAMS,
    headers: {
      type: "object",
      properties: {
        "if-match": {
          type: "string",
          description: '"<version>", W/"<version>", <version> or *: update only that version',
        },
      },
    },
    body: ITEM_INPUT,
    response: {
      200: json("the updated item", ITEM, { etag: ETAG }),
      ...problems(400, 404, 412, 413, 415, 503),
    },
  },
  "DELETE /v1/items/:id": {
    summary: "Delete an item",
    tags: ITEM_TAG,
    params: ID_PARAMS,
    response: { 204: { description: "deleted; no body" }, ...problems(400, 404, 503) },
  },
  "GET /healthz": {
    summary: "Liveness: the process answers; touches no dependency",
    tags: OPERATIONS_TAG,
    response: { 200: json("alive", { type: "object", properties: { status: { const: "ok" } } }) },
  },
  "GET /readyz": {
    summary: "Readiness: the primary database answers and the process is not shutting down",
    tags: OPERATIONS_TAG,
    response: {
      200: json("ready", { type: "object", properties: { status: { const: "ready" } } }),
      ...problems(503),
    },
  },
  "GET /metrics": {
    summary: "Prometheus metrics: requests by route and status, in flight, cache hits and misses, pools",
    tags: OPERATIONS_TAG,
    response: {
      200: {
        description: "Prometheus text format",
        content: { "text/plain": { schema: { type: "string" } } },
      },
    },
  },
};

const DESCRIPTION = `One stateless HTTP service in front of PostgreSQL (a primary and a read replica) and an optional Redis cache.

Every response with a body is application/json, except /metrics (Prometheus text) and errors: every 4xx and 5xx is application/problem+json (RFC 9457) with a status equal to the HTTP status. A method that a known path does not serve answers 405 with Allow; a request that is not valid HTTP/1.1 answers 400. No input yields a 5xx other than 503.`;

/** The OpenAPI document of the routes buildApp registers; throws when a route has no documentation. */
export async function openApiDocument(): Promise<unknown> {
  const { default: swagger } = await import("@fastify/swagger");
  const undocumented: string[] = [];
  // No connection is made: the pools connect on the first query, and no request is served.
  const config = loadConfig({ DATABASE_URL: "postgres://openapi@127.0.0.1/openapi", LOG_LEVEL: "error" });
  const app = await buildApp(
    { ...config, databaseUrl: config.databaseUrl ?? "" },
    {
      beforeRoutes: async (instance) => {
        await instance.register(swagger, {
          openapi: {
            openapi: "3.1.0",
            info: { title: "items-api", version: "1", description: DESCRIPTION },
            tags: [
              { name: "items", description: "the item resource" },
              { name: "operations", description: "probes and metrics for the platform" },
            ],
          },
          transform: ({ url, route }) => {
            const methods = typeof route.method === "string" ? [route.method] : route.method;
            const key = `${methods.join(",")} ${url}`;
            const schema = ROUTES[key];
            if (schema === undefined) undocumented.push(key);
            return { schema: schema ?? {}, url };
          },
        });
      },
    },
  );
  try {
    await app.ready();
    const document = app.swagger();
    if (undocumented.length > 0)
      throw new Error(`routes without documentation in openapi.ts: ${undocumented.join("; ")}`);
    return document;
  } finally {
    await app.close();
  }
}

/** Where the generated document is committed, relative to the server package. */
export const OPENAPI_FILE = "openapi.json";
