import { z } from "zod";
import { badRequest } from "../errors";
import type { Page } from "./repository";

export type JsonObject = Record<string, unknown>;

export interface Item {
  readonly id: string;
  readonly name: string;
  readonly data: JsonObject;
  readonly version: number;
  /** ISO 8601 with milliseconds, from the primary's clock. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A validated body: `data` is already serialized, as the database stores it. */
export type ItemInput = z.output<typeof itemInput>;

/** Position after an item in the list order (createdAt DESC, id DESC). */
export interface Cursor {
  readonly createdAt: string;
  readonly id: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly after: Cursor | undefined;
}

export const NAME_MAX_CHARACTERS = 200;
export const DATA_MAX_BYTES = 64 * 1024;
// PostgreSQL's jsonb parser and JSON.stringify both recurse; a cap keeps deep input a 400.
export const DATA_MAX_DEPTH = 100;
export const PAGE_LIMIT = { min: 1, max: 100, default: 20 } as const;
const PAGE_LIMIT_RULE = `limit must be an integer from ${PAGE_LIMIT.min} to ${PAGE_LIMIT.max}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// PostgreSQL text and jsonb reject NUL, and jsonb rejects unpaired UTF-16 surrogates (which
// isWellFormed finds natively, without a Unicode-property regex per string).
const isStorableText = (text: string) => !text.includes("\u0000") && text.isWellFormed();
const UNSTORABLE_TEXT = "data must not contain NUL characters or unpaired surrogates";
const TOO_DEEP = `data must not nest deeper than ${DATA_MAX_DEPTH} levels`;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Why `value`'s strings (keys included) or nesting cannot be stored, or undefined. Recursive but
 * bounded: it never descends past DATA_MAX_DEPTH, so any nesting is safe to inspect, and it allocates
 * nothing on the way (this runs on every write).
 */
function dataProblem(value: unknown, depth: number): string | undefined {
  if (typeof value === "string") return isStorableText(value) ? undefined : UNSTORABLE_TEXT;
  if (typeof value !== "object" || value === null) return undefined;
  if (depth > DATA_MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) {
    for (const element of value as unknown[]) {
      const problem = dataProblem(element, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  // Parsed JSON: plain objects whose keys are all their own.
  for (const key in value) {
    if (!isStorableText(key)) return UNSTORABLE_TEXT;
    const problem = dataProblem((value as JsonObject)[key], depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

const itemInput = z
  .strictObject(
    {
      name: z
        .string({
          error: (issue) => (issue.input === undefined ? "name is required" : "name must be a string"),
        })
        .refine((name) => name.length > 0, "name must not be empty")
        .refine(
          (name) => [...name].length <= NAME_MAX_CHARACTERS,
          `name must be at most ${NAME_MAX_CHARACTERS} characters`,
        )
        .refine(isStorableText, "name must not contain NUL characters or unpaired surrogates"),
      // Serialized here, once: the size rule needs the text and the repository stores it as it is.
      data: z
        .custom<JsonObject>(isJsonObject, "data must be a JSON object")
        .default(() => ({}))
        .transform((data, ctx) => {
          const problem = dataProblem(data, 1);
          if (problem) {
            ctx.addIssue({ code: "custom", message: problem });
            return z.NEVER;
          }
          const json = JSON.stringify(data);
          if (Buffer.byteLength(json) > DATA_MAX_BYTES) {
            ctx.addIssue({
              code: "custom",
              message: `data must be at most ${DATA_MAX_BYTES} bytes once serialized`,
            });
            return z.NEVER;
          }
          return json;
        }),
    },
    { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "the body must be a JSON object") },
  )
  .transform(({ name, data }) => ({ name, dataJson: data }));

const pageQuery = z.object({
  limit: z
    .string({ error: PAGE_LIMIT_RULE })
    .regex(/^\d{1,3}$/, PAGE_LIMIT_RULE)
    .transform(Number)
    .refine((limit) => limit >= PAGE_LIMIT.min && limit <= PAGE_LIMIT.max, PAGE_LIMIT_RULE)
    .default(PAGE_LIMIT.default),
  cursor: z.string({ error: "cursor must be a single value" }).optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw badRequest(parsed.error.issues.map((issue) => issue.message).join("; "));
}

export function parseItemInput(body: unknown): ItemInput {
  return parse(itemInput, body);
}

/** A UUID in canonical form, lower-cased so that cache keys match whatever case the client used. */
export function parseItemId(id: string): string {
  if (!UUID.test(id)) throw badRequest("id must be a UUID");
  return id.toLowerCase();
}

export function parsePageRequest(query: unknown): PageRequest {
  const { limit, cursor } = parse(pageQuery, query);
  return { limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}

export function encodeCursor(item: Pick<Item, "createdAt" | "id">): string {
  return Buffer.from(`${item.createdAt}|${item.id}`).toString("base64url");
}

const DECODED_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

function isCanonicalTimestamp(text: string): boolean {
  const time = Date.parse(text);
  return !Number.isNaN(time) && new Date(time).toISOString() === text;
}

function decodeCursor(cursor: string): Cursor {
  const [, createdAt, id] = DECODED_CURSOR.exec(Buffer.from(cursor, "base64url").toString()) ?? [];
  const valid =
    createdAt !== undefined &&
    id !== undefined &&
    UUID.test(id) &&
    encodeCursor({ createdAt, id }) === cursor &&
    isCanonicalTimestamp(createdAt);
  if (!valid) throw badRequest("cursor is malformed; use nextCursor from the previous page");
  return { createdAt, id };
}

/**
 * The version an `If-Match` header requires: `"3"`, `W/"3"` or `3`; undefined when absent or `*`
 * (any current version). Lists of tags are not supported and count as malformed.
 */
export function parseIfMatch(header: string | undefined): number | undefined {
  const value = header?.trim();
  if (value === undefined || value === "*") return undefined;
  const match = /^(?:W\/)?"(\d{1,15})"$|^(\d{1,15})$/.exec(value);
  const digits = match?.[1] ?? match?.[2];
  if (digits === undefined) throw badRequest('If-Match must be an entity tag such as "3" (the item version)');
  return Number(digits);
}

export function entityTag(item: Pick<Item, "version">): string {
  return `"${item.version}"`;
}

/** A list response's body: the page's items as PostgreSQL built them, and the cursor of the next page. */
export function pageBody(page: Page): Buffer {
  const nextCursor = page.next ? `"${encodeCursor(page.next)}"` : "null";
  return Buffer.from(`{"items":${page.itemsJson},"nextCursor":${nextCursor}}`);
}
