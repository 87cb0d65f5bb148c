// The item resource (app-image/openapi.json) as the tests see it: a typed client and shape checks.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { HttpResponse, RequestOptions, parseJson, send } from "../../local/http";

export interface Item {
  readonly id: string;
  readonly name: string;
  readonly data: Record<string, unknown>;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ItemPage {
  readonly items: Item[];
  readonly nextCursor: string | null;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const describeResponse = (response: HttpResponse): string =>
  `${response.status} ${response.headers["content-type"] ?? "(no content-type)"} ${response.text.slice(0, 500)}`;

export function expectStatus(response: HttpResponse, status: number, request: string): void {
  assert.equal(response.status, status, `${request}: expected ${status}, got ${describeResponse(response)}`);
}

export function isJsonContentType(response: HttpResponse): boolean {
  return /^application\/json\s*(;|$)/i.test(response.headers["content-type"] ?? "");
}

export function assertItem(value: unknown, context: string): asserts value is Item {
  assert.ok(
    typeof value === "object" && value !== null && !Array.isArray(value),
    `${context}: not an object`,
  );
  const item = value as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(item).sort(),
    ["createdAt", "data", "id", "name", "updatedAt", "version"],
    `${context}: fields of ${JSON.stringify(item)}`,
  );
  assert.match(String(item.id), UUID_PATTERN, `${context}: id`);
  assert.equal(typeof item.name, "string", `${context}: name`);
  assert.ok(
    typeof item.data === "object" && item.data !== null && !Array.isArray(item.data),
    `${context}: data`,
  );
  assert.ok(Number.isInteger(item.version) && (item.version as number) >= 1, `${context}: version`);
  for (const field of ["createdAt", "updatedAt"]) {
    const stamp = item[field];
    assert.ok(
      typeof stamp === "string" && ISO_TIMESTAMP.test(stamp),
      `${context}: ${field} ${String(stamp)}`,
    );
    assert.ok(!Number.isNaN(Date.parse(stamp)), `${context}: ${field} parses`);
  }
}

/** Checks an error response: problem+json content type and an RFC 9457 body whose status matches. */
export function assertProblem(response: HttpResponse, status: number, request: string): Problem {
  expectStatus(response, status, request);
  assert.match(
    response.headers["content-type"] ?? "",
    /^application\/problem\+json\s*(;|$)/i,
    `${request}: content-type of a ${status} is ${response.headers["content-type"]}, body ${response.text}`,
  );
  const body = parseJson(response) as Record<string, unknown>;
  for (const field of ["type", "title", "detail"]) {
    assert.equal(typeof body[field], "string", `${request}: problem.${field} in ${response.text}`);
  }
  assert.equal(body.status, status, `${request}: problem.status in ${response.text}`);
  return body as unknown as Problem;
}

export const uniqueName = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

/** Thin client over the item endpoints; returns raw responses so tests can assert on anything. */
export class ItemsClient {
  constructor(readonly baseUrl: string) {}

  request(method: string, path: string, options?: RequestOptions): Promise<HttpResponse> {
    return send(this.baseUrl, method, path, options);
  }

  post(body: unknown, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request("POST", "/v1/items", { json: body, headers });
  }

  get(id: string, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request("GET", `/v1/items/${id}`, { headers });
  }

  put(id: string, body: unknown, headers?: Record<string, string>): Promise<HttpResponse> {
    return this.request("PUT", `/v1/items/${id}`, { json: body, headers });
  }

  delete(id: string): Promise<HttpResponse> {
    return this.request("DELETE", `/v1/items/${id}`);
  }

  list(query = ""): Promise<HttpResponse> {
    return this.request("GET", `/v1/items${query}`);
  }

  /** POST that must succeed; returns the created item. */
  async create(name = uniqueName("item"), data?: Record<string, unknown>): Promise<Item> {
    const response = await this.post(data === undefined ? { name } : { name, data });
    expectStatus(response, 201, `POST /v1/items ${name}`);
    const item = parseJson(response);
    assertItem(item, "created item");
    return item;
  }

  /** GET that must succeed; returns the item. */
  async fetchItem(id: string): Promise<Item> {
    const response = await this.get(id);
    expectStatus(response, 200, `GET /v1/items/${id}`);
    const item = parseJson(response);
    assertItem(item, "fetched item");
    return item;
  }

  /** PUT that must succeed; returns the updated item. */
  async update(id: string, body: { name: string; data?: Record<string, unknown> }): Promise<Item> {
    const response = await this.put(id, body);
    expectStatus(response, 200, `PUT /v1/items/${id}`);
    const item = parseJson(response);
    assertItem(item, "updated item");
    return item;
  }

  async page(query: string): Promise<ItemPage> {
    const response = await this.list(query);
    expectStatus(response, 200, `GET /v1/items${query}`);
    const page = parseJson(response) as ItemPage;
    assert.ok(Array.isArray(page.items), `GET /v1/items${query}: items array`);
    assert.ok(page.nextCursor === null || typeof page.nextCursor === "string", "nextCursor");
    page.items.forEach((item, index) => assertItem(item, `listed item ${index}`));
    return page;
  }
}
