// The bench's floor server (bench/floor-server.ts) must do a request's real storage work, or its
// figure would make the API's own cost look smaller than it is: each route is checked here against
// the shared PostgreSQL pair and Redis, through the same bundle `npm run bench` runs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PipelinedConnections } from "../../app-image/src/connections";
import { createLogger } from "../../app-image/src/logging";
import { migrate } from "../../app-image/src/migrations";
import { buildFloorServer } from "../../bench/replica";
import { startServer, type ServerProcess } from "../../bench/server-process";
import { parseJson, send } from "../../local/http";
import { assertItem, type ItemPage } from "../support/items";
import { useSharedEnvironment } from "../support/mocha";

const environment = useSharedEnvironment();
const NOT_PINNED = { serverCpu: null, loadCpu: null };

describe("bench floor server: node:http in front of the API's storage code", function () {
  this.timeout(60_000);
  let dir: string;
  let floor: ServerProcess | undefined;

  before(async () => {
    const { postgres, apiEnv } = await environment();
    const connections = new PipelinedConnections(
      { connectionString: postgres.primaryUrl },
      1,
      () => undefined,
    );
    try {
      await migrate(connections, createLogger("error"));
    } finally {
      await connections.end();
    }
    dir = mkdtempSync(join(tmpdir(), "floor-test-"));
    floor = await startServer({
      script: await buildFloorServer(dir),
      env: { ...apiEnv },
      readyPath: "/",
      logFile: join(dir, "floor.log"),
      cpus: NOT_PINNED,
    });
  });

  after(async () => {
    await floor?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates, reads, updates and lists items as the API stores them", async () => {
    const baseUrl = floor?.baseUrl ?? "";
    const created = await send(baseUrl, "POST", "/v1/items", { json: { name: "floor", data: { n: 1 } } });
    assert.equal(created.status, 201, created.text);
    const item = parseJson(created);
    assertItem(item, "POST");
    assert.equal(created.headers.location, `/v1/items/${item.id}`);
    assert.equal(created.headers.etag, '"1"');

    const read = await send(baseUrl, "GET", `/v1/items/${item.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(parseJson(read), item);

    const updated = await send(baseUrl, "PUT", `/v1/items/${item.id}`, {
      json: { name: "floor 2", data: {} },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.headers.etag, '"2"');
    // Through the cache the write stored: the new version, not the one read before.
    const reread = parseJson(await send(baseUrl, "GET", `/v1/items/${item.id}`));
    assertItem(reread, "GET after PUT");
    assert.equal(reread.version, 2);
    assert.equal(reread.name, "floor 2");

    const list = await send(baseUrl, "GET", "/v1/items?limit=20");
    assert.equal(list.status, 200);
    const page = parseJson(list) as ItemPage;
    assert.ok(
      page.items.some(({ id }) => id === item.id),
      "the newest page holds the new item",
    );

    assert.equal((await send(baseUrl, "GET", `/v1/items/${randomUUID()}`)).status, 404);
  });
});
