// app-image/openapi.json is generated from the routes (npm run openapi); it must never go stale.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OPENAPI_FILE, openApiDocument } from "../../app-image/src/openapi";
import { APP_DIR } from "../../local/api";

describe("OpenAPI document", function () {
  this.timeout(30_000);

  it("app-image/openapi.json is what `npm run openapi` generates from the routes now", async () => {
    const committed: unknown = JSON.parse(readFileSync(join(APP_DIR, OPENAPI_FILE), "utf8"));
    assert.deepEqual(
      committed,
      await openApiDocument(),
      "stale: run `npm run openapi` and commit app-image/openapi.json",
    );
  });

  it("describes every v1 operation with its statuses, errors as problem+json", async () => {
    const document = (await openApiDocument()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    const statuses = Object.fromEntries(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, { responses }]) => [
          `${method.toUpperCase()} ${path}`,
          Object.keys(responses).sort(),
        ]),
      ),
    );
    assert.deepEqual(statuses, {
      "POST /v1/items": ["201", "400", "413", "415", "503"],
      "GET /v1/items": ["200", "400", "503"],
      "GET /v1/items/{id}": ["200", "400", "404", "503"],
      "PUT /v1/items/{id}": ["200", "400", "404", "412", "413", "415", "503"],
      "DELETE /v1/items/{id}": ["204", "400", "404", "503"],
      "GET /healthz": ["200"],
      "GET /readyz": ["200", "503"],
      "GET /metrics": ["200"],
    });
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, { responses }] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(responses)) {
          if (Number(status) >= 400) {
            assert.deepEqual(
              Object.keys(response.content ?? {}),
              ["application/problem+json"],
              `${method} ${path} ${status}`,
            );
          }
        }
      }
    }
  });

  it("names nothing outside the repository and no environment variable", () => {
    const text = readFileSync(join(APP_DIR, OPENAPI_FILE), "utf8");
    for (const forbidden of [
      /\.\.\//,
      /\/work\//,
      /\/home\//,
      /\/tmp\//,
      /DATABASE_URL|REDIS_URL|MAX_IN_FLIGHT/,
    ]) {
      assert.doesNotMatch(text, forbidden);
    }
  });
});
