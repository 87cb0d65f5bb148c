// The request mixes `npm run bench` drives, each with the latency bound (SLA) it is judged by.
import type autocannon from "autocannon";
import type { Flusher } from "./redis-flush";

export type SlaBound = "GET" | "POST" | "PUT";

/** p99.9 latency bounds at 200 connections. */
export const SLA_P99_9_MS: Readonly<Record<SlaBound, number>> = { GET: 100, POST: 150, PUT: 200 };

/** Largest share of failed requests (connection errors + non-2xx) a passing scenario may have: p99.9 leaves 0.1 %. */
export const SLA_MAX_FAILED_SHARE = 0.001;

/** Longest median spawn-to-ready a scale-out or cold start may take (schema already migrated). */
export const STARTUP_TARGET_MS = 400;

/** How often the cache-miss scenario empties Redis. */
export const MISS_FLUSH_INTERVAL_MS = 250;

export interface ScenarioContext {
  /** Every seeded item id. */
  readonly ids: readonly string[];
  /** Ids read once before the cache-hit scenario, so they sit in Redis. */
  readonly hitIds: readonly string[];
  /** Ids never read before the cache-miss scenario. */
  readonly missIds: readonly string[];
  readonly flusher: Flusher;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly sla: SlaBound;
  /** Reads items by id, so the cache hit ratio says whether the scenario did what its name says. */
  readonly readsById: boolean;
  /** The scenario whose request shape (methods, bodies) the bare baseline replays for this one. */
  readonly bareShape: string;
  /** The most server CPU per request this scenario may cost, as a multiple of the bare server's. */
  readonly cpuTargetToBare?: number;
  /**
   * The requests connection `connection` (of `connections`) sends, in a loop. Built once per connection,
   * so the load generator spends no CPU per request on building them.
   */
  requestsFor(context: ScenarioContext, connection: number, connections: number): autocannon.Request[];
  /** Runs before the warm-up; `tearDown` after the measured window. */
  setUp?(context: ScenarioContext): Promise<void>;
  tearDown?(context: ScenarioContext): Promise<void>;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** A body of realistic size (~150 bytes): a name and a small nested object. */
function itemBody(name: string): string {
  return JSON.stringify({
    name,
    data: {
      sku: "BENCH-000123",
      price: 1999,
      currency: "EUR",
      tags: ["bench", "load"],
      stock: { warehouse: 12 },
    },
  });
}

const POST_BODY = itemBody("bench item");
const PUT_BODY = itemBody("bench item, updated");

/**
 * The ids of connection `connection`: the pool cut into one disjoint slice per connection, so the
 * requests in flight name different ids (PUTs never queue on one row lock) and an id comes back only
 * after its connection went through its whole slice.
 */
export function sliceFor(ids: readonly string[], connection: number, connections: number): string[] {
  if (ids.length === 0) throw new Error("a scenario needs at least one seeded id");
  const size = Math.max(1, Math.floor(ids.length / connections));
  const start = (connection * size) % ids.length;
  return Array.from({ length: size }, (_, offset) => ids[(start + offset) % ids.length]);
}

const getItem = (id: string): autocannon.Request => ({ method: "GET", path: `/v1/items/${id}` });
const putItem = (id: string): autocannon.Request => ({
  method: "PUT",
  path: `/v1/items/${id}`,
  headers: JSON_HEADERS,
  body: PUT_BODY,
});
const postItem = (): autocannon.Request => ({
  method: "POST",
  path: "/v1/items",
  headers: JSON_HEADERS,
  body: POST_BODY,
});

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "get-hit",
    description: "GET /v1/items/{id}, ids read once beforehand so Redis answers",
    sla: "GET",
    readsById: true,
    bareShape: "get-hit",
    cpuTargetToBare: 2.0,
    requestsFor: ({ hitIds }, connection, connections) =>
      sliceFor(hitIds, connection, connections).map(getItem),
  },
  {
    name: "get-miss",
    description: `GET /v1/items/{id} on ids never read, Redis emptied every ${MISS_FLUSH_INTERVAL_MS} ms`,
    sla: "GET",
    readsById: true,
    bareShape: "get-hit",
    requestsFor: ({ missIds }, connection, connections) =>
      sliceFor(missIds, connection, connections).map(getItem),
    // An id is cached by its first read and comes back after its connection's whole slice (45 ids at
    // the defaults); flushing four times a second keeps it a miss unless a connection gets through its
    // slice within 250 ms. The measured hit ratio (from /metrics) shows how well that held.
    setUp: async ({ flusher }) => {
      await flusher.flushNow();
      flusher.startTimer(MISS_FLUSH_INTERVAL_MS);
    },
    tearDown: async ({ flusher }) => flusher.stopTimer(),
  },
  {
    name: "list",
    description: "GET /v1/items?limit=20 (first page, newest first)",
    sla: "GET",
    readsById: false,
    bareShape: "get-hit",
    cpuTargetToBare: 3.0,
    requestsFor: () => [{ method: "GET", path: "/v1/items?limit=20" }],
  },
  {
    name: "post",
    description: "POST /v1/items, ~150-byte body",
    sla: "POST",
    readsById: false,
    bareShape: "post",
    cpuTargetToBare: 3.0,
    requestsFor: () => [postItem()],
  },
  {
    name: "put",
    description: "PUT /v1/items/{id} without If-Match, a different id per request in flight",
    sla: "PUT",
    readsById: false,
    bareShape: "put",
    cpuTargetToBare: 3.0,
    requestsFor: ({ ids }, connection, connections) => sliceFor(ids, connection, connections).map(putItem),
  },
  {
    name: "mixed",
    description: "80 % GET by id, 10 % POST, 10 % PUT; judged by the GET bound, the strictest",
    sla: "GET",
    readsById: true,
    bareShape: "mixed",
    // Per ten requests: eight GETs, one POST, one PUT, all on the connection's own ids; GETs go round
    // the slice eight times while PUTs go round it once, so every id is updated once and read again
    // after its update (a cache miss after the invalidation, then hits).
    requestsFor: ({ ids }, connection, connections) => {
      const slice = sliceFor(ids, connection, connections);
      let reads = 0;
      let writes = 0;
      return Array.from({ length: slice.length * 10 }, (_, index) => {
        if (index % 10 === 8) return postItem();
        if (index % 10 === 9) return putItem(slice[writes++ % slice.length]);
        return getItem(slice[reads++ % slice.length]);
      });
    },
  },
];

/** The baseline server answers every path alike; it gets the get-hit request shape. */
export const BASELINE_SCENARIO = "get-hit";

export function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) {
    throw new Error(`--scenario: "${name}" is not one of ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  return scenario;
}
