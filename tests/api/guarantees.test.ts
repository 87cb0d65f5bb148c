// The API's guarantees (read-your-writes, Redis optional, no stale cache, graceful shutdown, safe
// migrations, request logs), each provoked for real: a lagging replica (replay paused), Redis stopped
// and frozen, racing readers, SIGTERM with requests held by a row lock, concurrent first starts on an
// empty database, and the log lines Cloud Logging reads.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { ApiProcess, runApiUntilExit, startApi } from "../../local/api";
import {
  connectTo,
  findItemsTable,
  lockItemRow,
  primaryRow,
  waitForLockWaiters,
  withDatabase,
} from "../support/db";
import { HttpResponse, rawRequest } from "../../local/http";
import { Item, ItemsClient, assertProblem, expectStatus, uniqueName } from "../support/items";
import { cacheCount, scrapeMetrics } from "../../local/metrics";
import { useSharedEnvironment } from "../support/mocha";
import { queryOnce } from "../../local/postgres";
import { delay, freePort, waitFor } from "../../local/processes";
import { MIGRATION_LOCK_KEY } from "../../app-image/src/migrations";
import { RedisServer, startRedis } from "../../local/redis";
import { SHARED_REDIS_PASSWORD } from "../support/shared-env";

const environment = useSharedEnvironment();

/** Starts APIs and remembers them so the suite's `after` stops every one, even after a failure. */
function apiPool() {
  const running: ApiProcess[] = [];
  return {
    start: async (...args: Parameters<typeof startApi>): Promise<ApiProcess> => {
      const api = await startApi(...args);
      running.push(api);
      return api;
    },
    stopAll: async (): Promise<void> => {
      await Promise.all(running.splice(0).map((api) => api.stop()));
    },
  };
}

async function itemsTable(primaryUrl: string, itemId: string): Promise<string> {
  const client = await connectTo(primaryUrl);
  try {
    return await findItemsTable(client, itemId);
  } finally {
    await client.end();
  }
}

async function replicaHasRow(replicaUrl: string, table: string, itemId: string): Promise<boolean> {
  const rows = await queryOnce(replicaUrl, `SELECT 1 FROM ${table} WHERE id::text = $1`, [itemId]);
  return rows.length > 0;
}

describe("G1: a write is acknowledged only after the primary committed it", function () {
  const apis = apiPool();
  after(() => apis.stopAll());

  it("shows POST, PUT and DELETE on the primary right after the 2xx", async () => {
    const { apiEnv, postgres } = await environment();
    const client = new ItemsClient((await apis.start(apiEnv, { waitReady: true })).baseUrl);
    const db = await connectTo(postgres.primaryUrl);
    try {
      const created = await client.create(uniqueName("g1"), { step: "created" });
      const table = await findItemsTable(db, created.id);
      const afterPost = await primaryRow(db, table, created.id);
      assert.ok(afterPost !== undefined && Object.values(afterPost).includes(created.name), "row after POST");

      const renamed = uniqueName("g1-renamed");
      await client.update(created.id, { name: renamed });
      const afterPut = await primaryRow(db, table, created.id);
      assert.ok(afterPut !== undefined && Object.values(afterPut).includes(renamed), "row after PUT");
      if ("version" in afterPut) assert.equal(Number(afterPut.version), 2);

      expectStatus(await client.delete(created.id), 204, "DELETE");
      assert.equal(await primaryRow(db, table, created.id), undefined, "row after DELETE");

      const burst = await Promise.all(
        Array.from({ length: 20 }, () => client.create(uniqueName("g1-burst"))),
      );
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE id::text = ANY($1)`,
        [burst.map((item) => item.id)],
      );
      assert.equal(rows[0].n, 20, "every acknowledged POST of a concurrent burst is on the primary");
    } finally {
      await db.end();
    }
  });
});

describe("G2: read-your-writes while the replica lags (replay paused)", function () {
  this.timeout(90_000);
  const apis = apiPool();
  let uncachedEnv: Record<string, string>;

  before(async () => {
    const { postgres, apiEnv } = await environment();
    uncachedEnv = {
      DATABASE_URL: postgres.primaryUrl,
      DATABASE_REPLICA_URL: postgres.replicaUrl,
      LOG_LEVEL: apiEnv.LOG_LEVEL,
    };
  });
  after(() => apis.stopAll());

  /**
   * Writes through `writer`, reads through `reader`: a new item, updates of and a delete of items the
   * replica already had, all while the replica is frozen before any of these writes.
   */
  async function checkReadYourWrites(
    writer: ItemsClient,
    reader: ItemsClient,
    lag: "replay paused" | "streaming frozen" = "replay paused",
  ): Promise<void> {
    const { postgres } = await environment();
    const existing = await writer.create(uniqueName("g2-existing"), { v: 1 });
    const doomed = await writer.create(uniqueName("g2-doomed"));
    const table = await itemsTable(postgres.primaryUrl, existing.id);
    await waitFor("the replica to have the seeded items", async () =>
      (await replicaHasRow(postgres.replicaUrl, table, doomed.id)) ? true : undefined,
    );
    await reader.fetchItem(existing.id); // warms any cache with version 1
    await reader.fetchItem(doomed.id);

    await (lag === "replay paused" ? postgres.pauseReplay() : postgres.pauseStreaming());
    try {
      const created = await writer.create(uniqueName("g2-new"), { fresh: true });
      assert.equal(
        await replicaHasRow(postgres.replicaUrl, table, created.id),
        false,
        "precondition: replica lags",
      );
      assert.deepEqual(await reader.fetchItem(created.id), created, "GET after POST");

      for (let version = 2; version <= 3; version += 1) {
        const body = { name: uniqueName(`g2-v${version}`), data: { v: version } };
        const updated = await writer.update(existing.id, body);
        assert.equal(updated.version, version);
        assert.deepEqual(await reader.fetchItem(existing.id), updated, `GET after PUT to version ${version}`);
      }

      expectStatus(await writer.delete(doomed.id), 204, "DELETE");
      assert.equal(
        await replicaHasRow(postgres.replicaUrl, table, doomed.id),
        true,
        "precondition: replica lags",
      );
      assertProblem(await reader.get(doomed.id), 404, "GET after DELETE");
    } finally {
      await postgres.resumeReplay();
    }
  }

  it("without Redis, through the process that wrote", async () => {
    const client = new ItemsClient((await apis.start(uncachedEnv, { waitReady: true })).baseUrl);
    await checkReadYourWrites(client, client);
  });

  it("without Redis, through another process (as behind a load balancer)", async () => {
    const [writer, reader] = await Promise.all([
      apis.start(uncachedEnv, { waitReady: true }),
      apis.start(uncachedEnv, { waitReady: true }),
    ]);
    await checkReadYourWrites(new ItemsClient(writer.baseUrl), new ItemsClient(reader.baseUrl));
  });

  it("with Redis, through the process that wrote and through another one", async () => {
    const { apiEnv } = await environment();
    const [writer, reader] = await Promise.all([
      apis.start(apiEnv, { waitReady: true }),
      apis.start(apiEnv, { waitReady: true }),
    ]);
    await checkReadYourWrites(new ItemsClient(writer.baseUrl), new ItemsClient(writer.baseUrl));
    await checkReadYourWrites(new ItemsClient(writer.baseUrl), new ItemsClient(reader.baseUrl));
  });

  it("with Redis down, through another process: reads by id go to the primary", async () => {
    // With Redis unavailable nothing tells a reader that another process just wrote, so the
    // reader's own freshness check (its commits only) would call the lagging replica fresh.
    const redis = await startRedis({ password: "g2-redis-secret" });
    try {
      const cachedEnv = { ...uncachedEnv, REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "100" };
      const [writer, reader] = await Promise.all([
        apis.start(cachedEnv, { waitReady: true }),
        apis.start(cachedEnv, { waitReady: true }),
      ]);
      await redis.stop();
      // Streaming frozen, not replay paused: the reader's replica then looks fresh to it.
      const [writing, reading] = [new ItemsClient(writer.baseUrl), new ItemsClient(reader.baseUrl)];
      await checkReadYourWrites(writing, reading, "streaming frozen");
    } finally {
      await redis.stop();
    }
  });

  it("lists the process's own writes while the replica lags (the replica freshness check)", async () => {
    // Lists read from the replica only when it has replayed every commit this process acknowledged.
    const { postgres } = await environment();
    const client = new ItemsClient((await apis.start(uncachedEnv, { waitReady: true })).baseUrl);
    const existing = await client.create(uniqueName("g2-list"));
    const table = await itemsTable(postgres.primaryUrl, existing.id);
    await waitFor("the replica to have the seeded item", async () =>
      (await replicaHasRow(postgres.replicaUrl, table, existing.id)) ? true : undefined,
    );
    await postgres.pauseReplay();
    try {
      const created = await client.create(uniqueName("g2-list-new"));
      const renamed = await client.update(existing.id, { name: uniqueName("g2-list-renamed") });
      assert.equal(
        await replicaHasRow(postgres.replicaUrl, table, created.id),
        false,
        "precondition: replica lags",
      );
      const { items } = await client.page("?limit=100");
      assert.deepEqual(
        items.find(({ id }) => id === created.id),
        created,
        "the new item is listed",
      );
      assert.deepEqual(
        items.find(({ id }) => id === existing.id),
        renamed,
        "the update is listed",
      );
    } finally {
      await postgres.resumeReplay();
    }
  });
});

describe("G3: Redis is never required", function () {
  this.timeout(90_000);
  const REQUEST_BOUND_MS = 2_000;
  const apis = apiPool();
  let redis: RedisServer;
  let api: ApiProcess;
  let client: ItemsClient;

  before(async () => {
    const { apiEnv } = await environment();
    redis = await startRedis({ password: "g3-redis-secret" });
    api = await apis.start({ ...apiEnv, REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "250" }, { waitReady: true });
    client = new ItemsClient(api.baseUrl);
  });

  after(async () => {
    await apis.stopAll();
    await redis?.stop();
  });

  const hits = async (): Promise<number> => cacheCount(await scrapeMetrics(api.baseUrl), "hit") ?? 0;

  /** GETs one item until the hit counter grows, proving the cache serves again. */
  async function waitForCacheHits(what: string): Promise<void> {
    const item = await client.create(uniqueName("g3-probe"));
    const baseline = await hits();
    await waitFor(
      what,
      async () => {
        await client.fetchItem(item.id);
        await client.fetchItem(item.id);
        return (await hits()) > baseline ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  }

  /** Every kind of request succeeds, each within the bound. */
  async function exerciseWithoutCache(rounds: number): Promise<void> {
    const timed = async (
      method: string,
      path: string,
      status: number,
      json?: unknown,
    ): Promise<HttpResponse> => {
      const request = `${method} ${path}`;
      let response: HttpResponse;
      try {
        response = await client.request(method, path, { json, timeoutMs: 3 * REQUEST_BOUND_MS });
      } catch (error) {
        assert.fail(`${request} got no response within ${3 * REQUEST_BOUND_MS} ms (${String(error)})`);
      }
      expectStatus(response, status, request);
      assert.ok(response.elapsedMs < REQUEST_BOUND_MS, `${request} took ${response.elapsedMs} ms`);
      return response;
    };
    const older = JSON.parse(
      (await timed("POST", "/v1/items", 201, { name: uniqueName("g3-older") })).text,
    ) as Item;
    for (let round = 0; round < rounds; round += 1) {
      const post = await timed("POST", "/v1/items", 201, { name: uniqueName("g3") });
      const path = `/v1/items/${(JSON.parse(post.text) as Item).id}`;
      await timed("GET", path, 200);
      await timed("GET", `/v1/items/${older.id}`, 200);
      await timed("PUT", path, 200, { name: uniqueName("g3-put") });
      assert.equal((JSON.parse((await timed("GET", path, 200)).text) as Item).version, 2);
      await timed("GET", "/v1/items?limit=5", 200);
      await timed("DELETE", path, 204);
      await timed("GET", path, 404);
      await timed("GET", "/readyz", 200);
    }
  }

  it("uses the cache while Redis runs (else the rest proves nothing)", async () => {
    await waitForCacheHits("a cache hit with Redis up");
  });

  it("serves every request from PostgreSQL while Redis is stopped, and uses the cache again once it is back", async () => {
    await redis.stop();
    try {
      await exerciseWithoutCache(8);
    } finally {
      await redis.start();
    }
    await waitForCacheHits("cache hits after Redis restarted on the same port");
  });

  it("serves every request within the bound while Redis hangs (SIGSTOP), then recovers", async () => {
    redis.freeze();
    try {
      await exerciseWithoutCache(4);
    } finally {
      redis.thaw();
    }
    await waitForCacheHits("cache hits after Redis resumed");
  });
});

describe("G4: stale cache never outlives a write", function () {
  this.timeout(90_000);
  const apis = apiPool();
  let first: ItemsClient;
  let second: ItemsClient;

  before(async () => {
    const { apiEnv } = await environment();
    const [a, b] = await Promise.all([
      apis.start(apiEnv, { waitReady: true }),
      apis.start(apiEnv, { waitReady: true }),
    ]);
    first = new ItemsClient(a.baseUrl);
    second = new ItemsClient(b.baseUrl);
  });
  after(() => apis.stopAll());

  it("after a PUT or DELETE through one process, GETs through either return the new state", async () => {
    const item = await first.create(uniqueName("g4"));
    for (const reader of [first, second, first, second]) await reader.fetchItem(item.id); // both cached
    for (const [writer, version] of [
      [first, 2],
      [second, 3],
    ] as const) {
      await writer.update(item.id, { name: uniqueName(`g4-v${version}`) });
      assert.equal((await first.fetchItem(item.id)).version, version);
      assert.equal((await second.fetchItem(item.id)).version, version);
    }
    expectStatus(await second.delete(item.id), 204, "DELETE");
    assertProblem(await first.get(item.id), 404, "GET through the other process after DELETE");
    assertProblem(await second.get(item.id), 404, "GET through the deleting process after DELETE");
  });

  it("racing GETs never see a version older than the latest acknowledged PUT, nor the item after DELETE", async () => {
    const item = await first.create(uniqueName("g4-race"));
    let acknowledgedVersion = 1;
    let deleteSent = false;
    let deleteAcknowledged = false;
    let writing = true;
    const violations: string[] = [];
    let reads = 0;

    const reader = async (client: ItemsClient): Promise<void> => {
      while (writing) {
        const floor = acknowledgedVersion;
        const deleted = deleteAcknowledged;
        const response = await client.get(item.id);
        reads += 1;
        if (response.status === 200) {
          const { version } = JSON.parse(response.text) as Item;
          if (deleted) violations.push(`GET returned version ${version} after the DELETE was acknowledged`);
          else if (version < floor)
            violations.push(`GET returned version ${version} after version ${floor} was acknowledged`);
        } else if (!(response.status === 404 && deleteSent)) {
          violations.push(`GET answered ${response.status}: ${response.text}`);
        }
      }
    };
    const readers = Array.from({ length: 8 }, (_, index) => reader(index % 2 === 0 ? first : second));
    try {
      for (let round = 0; round < 30; round += 1) {
        const updated = await (round % 2 === 0 ? first : second).update(item.id, {
          name: `g4-race-${round}`,
        });
        acknowledgedVersion = Math.max(acknowledgedVersion, updated.version);
      }
      deleteSent = true; // from here a GET already in flight may legitimately answer 404
      expectStatus(await first.delete(item.id), 204, "DELETE");
      deleteAcknowledged = true;
      const readsAtDelete = reads;
      await waitFor("40 more reads after the DELETE", async () =>
        reads >= readsAtDelete + 40 ? true : undefined,
      );
    } finally {
      writing = false;
      await Promise.all(readers);
    }
    assert.deepEqual(violations, []);
    assert.ok(reads > 100, `only ${reads} reads raced the writes`);
  });
});

describe("G5: graceful shutdown on SIGTERM", function () {
  this.timeout(60_000);
  const apis = apiPool();
  after(() => apis.stopAll());

  it("turns /readyz 503 at once, keeps serving through the drain, finishes held requests, exits 0 in time", async () => {
    const { apiEnv, postgres } = await environment();
    const drainMs = 2_000;
    const graceMs = 8_000;
    const api = await apis.start(
      { ...apiEnv, SHUTDOWN_DRAIN_MS: String(drainMs), SHUTDOWN_GRACE_MS: String(graceMs) },
      { waitReady: true },
    );
    const client = new ItemsClient(api.baseUrl);
    const item = await client.create(uniqueName("g5"));
    const lock = await lockItemRow(postgres.primaryUrl, item.id);
    let held: Promise<HttpResponse[]> | undefined;
    let sentAt = 0;
    try {
      held = Promise.all(
        [1, 2, 3].map((n) =>
          rawRequest(api.port, {
            method: "PUT",
            path: `/v1/items/${item.id}`,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ name: `g5-held-${n}` }),
            timeoutMs: 20_000,
          }),
        ),
      );
      await waitForLockWaiters(postgres.primaryUrl, 3);
      sentAt = Date.now();
      process.kill(api.pid, "SIGTERM");

      const readiness = await waitFor(
        "/readyz to turn 503 after SIGTERM",
        async () => {
          const response = await rawRequest(api.port, { method: "GET", path: "/readyz" });
          return response.status === 503 ? response : undefined;
        },
        { timeoutMs: 1_000, intervalMs: 20 },
      );
      assertProblem(readiness, 503, "GET /readyz during shutdown");

      const duringDrain = await rawRequest(api.port, { method: "GET", path: `/v1/items/${item.id}` });
      assert.ok(Date.now() - sentAt < drainMs, "the drain check ran inside the drain delay");
      expectStatus(duringDrain, 200, "GET on a new connection during the drain delay");

      await waitFor("the drain delay to pass", async () =>
        Date.now() - sentAt > drainMs + 500 ? true : undefined,
      );
    } finally {
      await lock.release();
    }
    const statuses = (await held).map((response) => response.status);
    assert.deepEqual(statuses, [200, 200, 200], "requests accepted before SIGTERM finish normally");
    const exit = await api.exited;
    const shutdownMs = Date.now() - sentAt;
    assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; stderr: ${api.stderr()}`);
    assert.ok(shutdownMs < graceMs, `exited ${shutdownMs} ms after SIGTERM, grace is ${graceMs} ms`);
  });
});

describe("G6: migrations are safe when many replicas start at once", function () {
  this.timeout(90_000);
  const apis = apiPool();
  const database = `fresh_${randomUUID().replace(/-/g, "")}`;

  after(async () => {
    await apis.stopAll();
    const { postgres } = await environment();
    await queryOnce(postgres.primaryUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it("three processes started together on an empty database all come up and serve, and a restart is a no-op", async () => {
    const { postgres } = await environment();
    await queryOnce(postgres.primaryUrl, `CREATE DATABASE ${database}`);
    const env = { DATABASE_URL: withDatabase(postgres.primaryUrl, database), LOG_LEVEL: "warn" };
    const started = await Promise.allSettled([1, 2, 3].map(() => apis.start(env, { waitReady: true })));
    const failures = started.flatMap((result) =>
      result.status === "rejected" ? [String(result.reason)] : [],
    );
    assert.deepEqual(failures, [], "every process came up");
    const clients = started.flatMap((result) =>
      result.status === "fulfilled" ? [new ItemsClient(result.value.baseUrl)] : [],
    );
    const item = await clients[0].create(uniqueName("g6"));
    for (const client of clients) {
      assert.deepEqual(await client.fetchItem(item.id), item);
      assert.ok((await client.page("?limit=5")).items.some((listed) => listed.id === item.id));
    }
    const again = new ItemsClient((await apis.start(env, { waitReady: true })).baseUrl);
    assert.deepEqual(await again.fetchItem(item.id), item, "a later start keeps the data");
  });

  it("a process that waits for the lock longer than a statement's client-side timeout still comes up", async () => {
    const { postgres } = await environment();
    const waiting = `${database}_lock`;
    await queryOnce(postgres.primaryUrl, `CREATE DATABASE ${waiting}`);
    const holder = await connectTo(withDatabase(postgres.primaryUrl, waiting));
    try {
      // Another replica migrating for longer than the API's 6 s query_timeout (an index build, say).
      await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
      const heldMs = 7_000;
      const startedAt = Date.now();
      const release = delay(heldMs).then(() =>
        holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]),
      );
      const api = await apis.start(
        { DATABASE_URL: withDatabase(postgres.primaryUrl, waiting), LOG_LEVEL: "warn" },
        { waitReady: true, timeoutMs: 30_000 },
      );
      await release;
      assert.ok(Date.now() - startedAt >= heldMs, "the API became ready only after the lock was released");
      assert.equal((await new ItemsClient(api.baseUrl).create(uniqueName("g6-lock"))).version, 1);
    } finally {
      await holder.end();
      await apis.stopAll();
      await queryOnce(postgres.primaryUrl, `DROP DATABASE IF EXISTS ${waiting} WITH (FORCE)`);
    }
  });
});

describe("G7: one Cloud Logging JSON line per request", function () {
  this.timeout(60_000);
  const apis = apiPool();
  let api: ApiProcess;
  let withProject: ApiProcess;
  const SEVERITIES = [
    "DEFAULT",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "ALERT",
    "EMERGENCY",
  ];

  before(async () => {
    const { apiEnv } = await environment();
    [api, withProject] = await Promise.all([
      apis.start({ ...apiEnv, LOG_LEVEL: "info" }, { waitReady: true }),
      apis.start({ ...apiEnv, LOG_LEVEL: "info", GOOGLE_CLOUD_PROJECT: "demo-project" }, { waitReady: true }),
    ]);
  });
  after(() => apis.stopAll());

  const newTraceId = (): string => randomBytes(16).toString("hex");
  const spanId = (): string => randomBytes(8).toString("hex");

  function linesWith(target: ApiProcess, traceId: string): Record<string, unknown>[] {
    return target.logs
      .filter((line) => line.includes(traceId))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Sends a request with `headers(traceId)` and returns every log line that carries the trace id. */
  async function loggedLines(
    target: ApiProcess,
    path: string,
    headers: (traceId: string) => Record<string, string>,
  ): Promise<{ traceId: string; lines: Record<string, unknown>[] }> {
    const traceId = newTraceId();
    await new ItemsClient(target.baseUrl).request("GET", path, { headers: headers(traceId) });
    await waitFor(`a log line with trace ${traceId}`, async () =>
      linesWith(target, traceId).length > 0 ? true : undefined,
    );
    // a second traced request, once logged, shows that every line of the first one is out too
    const marker = newTraceId();
    await new ItemsClient(target.baseUrl).request("GET", "/healthz", {
      headers: { traceparent: `00-${marker}-${spanId()}-01` },
    });
    await waitFor("the marker request's log line", async () =>
      linesWith(target, marker).length > 0 ? true : undefined,
    );
    return { traceId, lines: linesWith(target, traceId) };
  }

  it("logs each request once with severity, message, httpRequest and the traceparent's trace id", async () => {
    const item = await new ItemsClient(api.baseUrl).create(uniqueName("g7"));
    const { traceId, lines } = await loggedLines(api, `/v1/items/${item.id}`, (trace) => ({
      traceparent: `00-${trace}-${spanId()}-01`,
    }));
    assert.equal(lines.length, 1, `one line per request, got ${JSON.stringify(lines)}`);
    const [line] = lines;
    assert.ok(SEVERITIES.includes(String(line.severity)), `severity ${String(line.severity)}`);
    assert.ok(typeof line.message === "string" && line.message !== "", "message");
    const httpRequest = line.httpRequest as Record<string, unknown> | undefined;
    assert.equal(httpRequest?.requestMethod, "GET");
    assert.equal(Number(httpRequest?.status), 200);
    assert.ok(String(httpRequest?.requestUrl).includes(`/v1/items/${item.id}`), "httpRequest.requestUrl");
    assert.ok(String(line["logging.googleapis.com/trace"]).includes(traceId), "trace field");
  });

  it("takes the trace id from X-Cloud-Trace-Context", async () => {
    const { traceId, lines } = await loggedLines(api, "/healthz", (trace) => ({
      "x-cloud-trace-context": `${trace}/1234567890;o=1`,
    }));
    assert.equal(lines.length, 1);
    assert.ok(String(lines[0]["logging.googleapis.com/trace"]).includes(traceId));
  });

  it("writes projects/<project>/traces/<trace id> when GOOGLE_CLOUD_PROJECT is set", async () => {
    const { traceId, lines } = await loggedLines(withProject, "/healthz", (trace) => ({
      traceparent: `00-${trace}-${spanId()}-01`,
    }));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]["logging.googleapis.com/trace"], `projects/demo-project/traces/${traceId}`);
  });

  it("writes only JSON lines to stdout and never the Redis password", () => {
    for (const target of [api, withProject]) {
      assert.ok(target.logs.length > 0);
      for (const line of target.logs) {
        assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
        assert.ok(!line.includes(SHARED_REDIS_PASSWORD), `secret in the log: ${line}`);
      }
    }
  });
});

describe("configuration errors", function () {
  this.timeout(60_000);
  const MALFORMED: ReadonlyArray<readonly [string, string]> = [
    ["DATABASE_POOL_MAX", "abc"],
    ["PORT", "99999"],
    ["PORT", "http"],
    ["CACHE_TTL_SECONDS", "forever"],
    ["SHUTDOWN_GRACE_MS", "soon"],
    ["SHUTDOWN_DRAIN_MS", "later"],
    ["MAX_IN_FLIGHT", "many"],
    ["REDIS_TIMEOUT_MS", "fast"],
    ["LOG_LEVEL", "verbose"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["DATABASE_URL", "mysql://root@127.0.0.1/items"],
    ["DATABASE_REPLICA_URL", "not a url"],
  ];

  for (const [variable, value] of MALFORMED) {
    it(`${variable}=${value} stops the process with a non-zero code and one line naming ${variable}`, async () => {
      const { apiEnv } = await environment();
      const result = await runApiUntilExit({ ...apiEnv, PORT: String(await freePort()), [variable]: value });
      assert.ok(result.code !== null && result.code !== 0, `exit code ${String(result.code)}`);
      assert.equal(result.outputLines.length, 1, `one line, got:\n${result.outputLines.join("\n")}`);
      assert.ok(
        result.outputLines[0].includes(variable),
        `the line names ${variable}: ${result.outputLines[0]}`,
      );
    });
  }
});
