// The app in-process: buildApp + inject (no child process, no port) for routes, validation and the
// problem+json errors, against the shared real PostgreSQL. What depends on sockets, processes and
// signals is tested against the built server (contract, guarantees, fuzz).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { buildApp } from "../../app-image/src/app";
import { loadConfig } from "../../app-image/src/config";
import { migrate } from "../../app-image/src/migrations";
import { HttpResponse, parseJson } from "../../local/http";
import { queryOnce } from "../../local/postgres";
import { withDatabase } from "../support/db";
import { Item, ItemPage, assertItem, assertProblem, expectStatus, uniqueName } from "../support/items";
import { useSharedEnvironment } from "../support/mocha";

const environment = useSharedEnvironment();

// fastify is the API's dependency, not the root package's: its types come through buildApp.
type FastifyInstance = Awaited<ReturnType<typeof buildApp>>;
interface InjectOptions {
  readonly method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH";
  readonly url: string;
  readonly payload?: string;
  readonly headers?: Record<string, string>;
}

async function startApp(databaseUrl?: string): Promise<FastifyInstance> {
  const { postgres } = await environment();
  const url = databaseUrl ?? postgres.primaryUrl;
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: "error" });
  const app = await buildApp({ ...config, databaseUrl: url });
  await app.ready();
  await migrate(app.db.primaryConnections, app.log);
  return app;
}

/** Fastify's inject response in the shape the shared assertions take. */
async function call(app: FastifyInstance, options: InjectOptions): Promise<HttpResponse> {
  const response = await app.inject({ ...options });
  const headers = Object.fromEntries(
    Object.entries(response.headers).map(([name, value]) => [name, String(value)]),
  );
  return { status: response.statusCode, headers, text: response.body, elapsedMs: 0 };
}

const json = (payload: unknown) => ({
  payload: JSON.stringify(payload),
  headers: { "content-type": "application/json" },
});

describe("app in-process: routes, validation and errors (buildApp + inject)", function () {
  this.timeout(30_000);
  let app: FastifyInstance;

  before(async () => {
    app = await startApp();
  });

  after(async () => {
    await app?.close();
  });

  async function create(name = uniqueName("inject")): Promise<Item> {
    const response = await call(app, { method: "POST", url: "/v1/items", ...json({ name, data: { n: 1 } }) });
    expectStatus(response, 201, "POST /v1/items");
    const item = parseJson(response);
    assertItem(item, "created");
    assert.equal(response.headers.location, `/v1/items/${item.id}`);
    assert.equal(response.headers.etag, '"1"');
    return item;
  }

  it("health: /healthz 200 without dependencies, /readyz 200 when the primary answers", async () => {
    const health = await call(app, { method: "GET", url: "/healthz" });
    expectStatus(health, 200, "GET /healthz");
    assert.equal(health.headers["content-type"], "application/json");
    assert.deepEqual(parseJson(health), { status: "ok" });
    const ready = await call(app, { method: "GET", url: "/readyz" });
    expectStatus(ready, 200, "GET /readyz");
    assert.deepEqual(parseJson(ready), { status: "ready" });
  });

  it("creates, reads, replaces, lists and deletes an item", async () => {
    const item = await create();
    const read = await call(app, { method: "GET", url: `/v1/items/${item.id.toUpperCase()}` });
    expectStatus(read, 200, "GET by upper-case id");
    assert.deepEqual(parseJson(read), item);
    const put = await call(app, {
      method: "PUT",
      url: `/v1/items/${item.id}`,
      ...json({ name: "renamed" }),
      headers: { "content-type": "application/json", "if-match": '"1"' },
    });
    expectStatus(put, 200, "PUT with If-Match 1");
    assert.deepEqual(
      { ...(parseJson(put) as Item), updatedAt: "" },
      { ...item, name: "renamed", data: {}, version: 2, updatedAt: "" },
    );
    const page = parseJson(await call(app, { method: "GET", url: "/v1/items?limit=100" })) as ItemPage;
    assert.ok(
      page.items.some(({ id }) => id === item.id),
      "the item is listed",
    );
    expectStatus(await call(app, { method: "DELETE", url: `/v1/items/${item.id}` }), 204, "DELETE");
    assertProblem(await call(app, { method: "GET", url: `/v1/items/${item.id}` }), 404, "GET after DELETE");
  });

  const badRequests: [string, InjectOptions, RegExp][] = [
    ["invalid JSON", { method: "POST", url: "/v1/items", payload: "{", headers: { "content-type": "application/json" } }, /JSON/i],
    ["no name", { method: "POST", url: "/v1/items", ...json({}) }, /name is required/],
    ["empty name", { method: "POST", url: "/v1/items", ...json({ name: "" }) }, /name must not be empty/],
    ["name of 201 characters", { method: "POST", url: "/v1/items", ...json({ name: "n".repeat(201) }) }, /at most 200/],
    ["data an array", { method: "POST", url: "/v1/items", ...json({ name: "x", data: [] }) }, /data must be a JSON object/],
    ["unknown field", { method: "POST", url: "/v1/items", ...json({ name: "x", colour: "red" }) }, /colour/],
    ["body an array", { method: "POST", url: "/v1/items", ...json([]) }, /body must be a JSON object/],
    ["id not a UUID", { method: "GET", url: "/v1/items/not-a-uuid" }, /id must be a UUID/],
    ["limit 0", { method: "GET", url: "/v1/items?limit=0" }, /limit must be an integer from 1 to 100/],
    ["limit 101", { method: "GET", url: "/v1/items?limit=101" }, /limit must be an integer from 1 to 100/],
    ["cursor forged", { method: "GET", url: "/v1/items?cursor=abc" }, /cursor is malformed/],
    ["If-Match not a tag", { method: "PUT", url: `/v1/items/${randomUUID()}`, ...json({ name: "x" }), headers: { "content-type": "application/json", "if-match": "abc" } }, /If-Match/],
  ]; // prettier-ignore

  for (const [label, request, detail] of badRequests) {
    it(`400 problem+json: ${label}`, async () => {
      const problem = assertProblem(await call(app, request), 400, label);
      assert.equal(problem.type, "about:blank");
      assert.equal(problem.title, "Bad Request");
      assert.match(problem.detail, detail);
    });
  }

  it("404 for an absent item and an unknown path", async () => {
    const id = randomUUID();
    for (const [method, url] of [["GET", `/v1/items/${id}`], ["DELETE", `/v1/items/${id}`], ["GET", "/v2/items"]] as const) {
      const problem = assertProblem(await call(app, { method, url }), 404, `${method} ${url}`);
      assert.equal(problem.title, "Not Found");
    }
    const put = await call(app, { method: "PUT", url: `/v1/items/${id}`, ...json({ name: "x" }) });
    assertProblem(put, 404, "PUT absent");
  }); // prettier-ignore

  it("405 with Allow for a known path and another method", async () => {
    const collection = await call(app, { method: "PATCH", url: "/v1/items" });
    assertProblem(collection, 405, "PATCH /v1/items");
    assert.deepEqual(collection.headers.allow.split(", ").filter((method) => method !== "HEAD"), ["GET", "POST"]);
    const single = await call(app, { method: "POST", url: `/v1/items/${randomUUID()}`, ...json({ name: "x" }) });
    assertProblem(single, 405, "POST /v1/items/{id}");
    assert.deepEqual(single.headers.allow.split(", ").filter((method) => method !== "HEAD"), ["DELETE", "GET", "PUT"]);
  }); // prettier-ignore

  it("412 when If-Match is not the current version", async () => {
    const item = await create();
    const stale = await call(app, {
      method: "PUT",
      url: `/v1/items/${item.id}`,
      ...json({ name: "y" }),
      headers: { "content-type": "application/json", "if-match": '"7"' },
    });
    assert.match(assertProblem(stale, 412, "PUT If-Match 7").detail, /current version is 1/);
  });

  it("413 for a body over 1 MiB, 415 for a body that is not application/json", async () => {
    const large = await call(app, { method: "POST", url: "/v1/items", ...json({ name: "n".repeat(1024 * 1024) }) });
    assertProblem(large, 413, "POST of 1 MiB + 11 bytes");
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const response = await call(app, { method: "POST", url: "/v1/items", payload: '{"name":"x"}', headers: { "content-type": type } });
      assert.match(assertProblem(response, 415, `POST ${type}`).detail, /application\/json/);
    }
  }); // prettier-ignore
});

describe("app in-process: items that share a created_at millisecond", function () {
  this.timeout(30_000);
  const database = `items_tiebreak_${randomUUID().slice(0, 8)}`;
  let app: FastifyInstance;
  let databaseUrl: string;
  // Inserted in ascending id order, so the table's physical order is the opposite of the list order.
  const ids = Array.from({ length: 7 }, () => randomUUID()).sort();
  const createdAt = "2026-01-01T00:00:00.000Z";

  before(async () => {
    const { postgres } = await environment();
    await queryOnce(postgres.primaryUrl, `CREATE DATABASE ${database}`);
    databaseUrl = withDatabase(postgres.primaryUrl, database);
    app = await startApp(databaseUrl);
    for (const [index, id] of ids.entries()) {
      await queryOnce(
        databaseUrl,
        "INSERT INTO items (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        [id, `same-ms-${index}`, createdAt],
      );
    }
    // With statistics the planner sorts these few rows instead of walking the (created_at, id)
    // index, whose order would hide a missing id tiebreak in the ORDER BY.
    await queryOnce(databaseUrl, "ANALYZE items");
  });

  after(async () => {
    await app?.close();
    const { postgres } = await environment();
    await queryOnce(postgres.primaryUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  for (const limit of [1, 2, 3, 7]) {
    it(`pages with limit=${limit} through every item once, ordered by id after createdAt`, async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`;
        const response = await call(app, { method: "GET", url: `/v1/items${query}` });
        expectStatus(response, 200, `GET /v1/items${query}`);
        const page = parseJson(response) as ItemPage;
        assert.ok(page.items.length <= limit, "page size");
        seen.push(...page.items.map(({ id }) => id));
        cursor = page.nextCursor;
      } while (cursor !== null && seen.length <= ids.length);
      assert.deepEqual(seen, [...ids].reverse(), "every item exactly once, newest first, then id descending");
    });
  }
});
