// The floor under the API for `npm run bench`: node:http in front of the API's own storage code
// (app-image/src: config, Database with its pipelined connections, the Redis cache, the
// repositories), and nothing else: no fastify, no validation, no request log, no metrics endpoint.
// Each request makes exactly the API's round trips with the API's driver code, so
// `API - floor` is what the request pipeline costs and `floor - bare` what those round trips cost.
// Bundled like the server (app-image/src/bundle.ts) and run with plain node; it answers only the
// bench's request shapes, and any other path with 200 (the harness's readiness poll).
import http from "node:http";
import { cacheMetrics, RedisItemCache } from "../app-image/src/cache";
import { loadConfig } from "../app-image/src/config";
import { Database } from "../app-image/src/database";
import { CachedItemsRepository } from "../app-image/src/items/cached-repository";
import { PostgresItemsRepository, type StoredItem } from "../app-image/src/items/repository";
import { entityTag, pageBody, type ItemInput } from "../app-image/src/items/schema";
import { createLogger } from "../app-image/src/logging";

const config = loadConfig(process.env);
if (config.databaseUrl === undefined || config.redisUrl === undefined) {
  throw new Error("the floor server needs DATABASE_URL and REDIS_URL");
}
// Errors only: the API's request log is part of what the floor leaves out.
const log = createLogger("error");
const database = new Database({
  primaryUrl: config.databaseUrl,
  replicaUrls: config.databaseReplicaUrls,
  poolMax: config.databasePoolMax,
  caCert: config.databaseCaCert,
  log,
});
const cache = new RedisItemCache({
  url: config.redisUrl,
  caCert: config.redisCaCert,
  timeoutMs: config.redisTimeoutMs,
  ttlSeconds: config.cacheTtlSeconds,
  metrics: cacheMetrics([]),
  log,
});
cache.connect();
const repository = new CachedItemsRepository(new PostgresItemsRepository(database), cache);

const ITEM_PATH = "/v1/items/";
const LIST_PAGE = { limit: 20, after: undefined };

function send(response: http.ServerResponse, status: number, body: Buffer, headers = {}): void {
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": body.length,
  });
  response.end(body);
}

const sendItem = (response: http.ServerResponse, item: StoredItem, status = 200, headers = {}) =>
  send(response, status, item.json, { ...headers, etag: entityTag(item) });

/** The body as the repository takes it, unvalidated: `data` serialized once, as the API's validation does. */
function itemInput(body: string): ItemInput {
  const { name, data = {} } = JSON.parse(body) as { name: string; data?: unknown };
  return { name, dataJson: JSON.stringify(data) };
}

async function answer(request: http.IncomingMessage, body: string, response: http.ServerResponse) {
  const { method = "GET", url = "/" } = request;
  if (method === "POST" && url === "/v1/items") {
    const item = await repository.create(itemInput(body));
    return sendItem(response, item, 201, { location: `${ITEM_PATH}${item.id}` });
  }
  if (method === "GET" && url.startsWith("/v1/items?")) {
    const page = await repository.list(LIST_PAGE);
    return send(response, 200, pageBody(page));
  }
  if (!url.startsWith(ITEM_PATH)) return send(response, 200, Buffer.from("{}"));
  const id = url.slice(ITEM_PATH.length);
  if (method === "PUT") {
    const result = await repository.update(id, itemInput(body), undefined);
    return result.outcome === "updated"
      ? sendItem(response, result.item)
      : send(response, 404, Buffer.from("{}"));
  }
  const item = await repository.get(id);
  return item ? sendItem(response, item) : send(response, 404, Buffer.from("{}"));
}

const server = http.createServer((request, response) => {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => (body += chunk));
  request.on("end", () => {
    answer(request, body, response).catch((error: unknown) => {
      process.stderr.write(`floor server: ${error instanceof Error ? error.message : String(error)}\n`);
      send(response, 500, Buffer.from("{}"));
    });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(config.port, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  cache.close();
  void database.close().then(() => process.exit(0));
});
