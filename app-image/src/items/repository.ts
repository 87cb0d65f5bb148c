import type { Statement } from "../connections";
import type { Database } from "../database";
import type { Cursor, ItemInput, PageRequest } from "./schema";

/**
 * An item as the API sends it: the JSON PostgreSQL built (migrations.ts, `item_json`), and the
 * version the ETag and the cache need. Neither side parses the JSON.
 */
export interface StoredItem {
  readonly version: number;
  /** The item as UTF-8 JSON bytes, sent as they are. */
  readonly json: Buffer;
}

export type CreatedItem = StoredItem & { readonly id: string };

export type UpdateResult =
  | { readonly outcome: "updated"; readonly item: StoredItem }
  | { readonly outcome: "not-found" }
  | { readonly outcome: "version-mismatch"; readonly currentVersion: number };

export interface Page {
  /** The page's items as a JSON array, in list order. */
  readonly itemsJson: string;
  /** Position after the page's last item, when another page follows. */
  readonly next: Cursor | undefined;
}

/**
 * Where a read by id may be answered. Only "primary" is read-your-writes for every process: a
 * write acknowledged by another process may not have reached the replica yet, and nothing in this
 * process can tell. "fresh-replica" is for callers that know no such write exists (a real cache
 * miss: every acknowledged update or delete leaves a cache entry behind).
 */
export type ReadSource = "primary" | "fresh-replica";

/** Storage of items; every method resolves only after the primary committed its write. */
export interface ItemsRepository {
  create(input: ItemInput): Promise<CreatedItem>;
  get(id: string, source?: ReadSource): Promise<StoredItem | undefined>;
  /** `expectedVersion` undefined: update whatever the current version is. */
  update(id: string, input: ItemInput, expectedVersion: number | undefined): Promise<UpdateResult>;
  /** False when there was no such item. */
  delete(id: string): Promise<boolean>;
  /** Newest first: createdAt DESC, then id DESC. */
  list(page: PageRequest): Promise<Page>;
}

// The procedures and functions of migrations.ts (version 2): one round trip each, prepared once per
// connection.
const CREATE: Statement = { name: "items_v2_create", text: "CALL item_create($1, $2::jsonb)" };
const UPDATE: Statement = {
  name: "items_v2_update",
  text: "CALL item_update($1::uuid, $2, $3::jsonb, $4::bigint)",
};
const DELETE: Statement = { name: "items_v2_delete", text: "CALL item_delete($1::uuid)" };
const READ: Statement = {
  name: "items_v2_read",
  text: "SELECT fresh, item_version, item_body FROM item_read($1::uuid, $2::pg_lsn)",
};
const PAGE: Statement = {
  name: "items_v2_page",
  text: "SELECT fresh, items_body, has_more, last_created_at, last_id FROM items_page($1, $2::timestamptz, $3::uuid, $4::pg_lsn)",
};

interface CreatedRow {
  commit_lsn: string;
  item_id: string;
  item_version: number;
  item_body: string;
}

interface UpdatedRow {
  commit_lsn: string;
  item_version: number | null;
  item_body: string | null;
  current_version: number | null;
}

interface ReadRow {
  fresh: boolean;
  item_version: number | null;
  item_body: string | null;
}

interface PageRow {
  fresh: boolean;
  items_body: string;
  has_more: boolean;
  last_created_at: string | null;
  last_id: string | null;
}

const stored = (version: number, body: string): StoredItem => ({ version, json: Buffer.from(body) });

export class PostgresItemsRepository implements ItemsRepository {
  constructor(private readonly database: Database) {}

  async create(input: ItemInput): Promise<CreatedItem> {
    const row = await this.database.write<CreatedRow>(CREATE, [input.name, input.dataJson]);
    return { id: row.item_id, ...stored(row.item_version, row.item_body) };
  }

  async get(id: string, source: ReadSource = "primary"): Promise<StoredItem | undefined> {
    const row =
      source === "primary"
        ? await this.database.readPrimary<ReadRow>(READ, [id])
        : // The replica may not have received the insert yet; only the primary can say 404.
          await this.database.read<ReadRow>(READ, [id], (found) => found.item_body === null);
    return row.item_body === null || row.item_version === null
      ? undefined
      : stored(row.item_version, row.item_body);
  }

  async update(id: string, input: ItemInput, expectedVersion: number | undefined): Promise<UpdateResult> {
    const row = await this.database.write<UpdatedRow>(UPDATE, [
      id,
      input.name,
      input.dataJson,
      expectedVersion ?? null,
    ]);
    if (row.item_version !== null && row.item_body !== null)
      return { outcome: "updated", item: stored(row.item_version, row.item_body) };
    return row.current_version === null
      ? { outcome: "not-found" }
      : { outcome: "version-mismatch", currentVersion: row.current_version };
  }

  async delete(id: string): Promise<boolean> {
    const row = await this.database.write<{ commit_lsn: string; deleted: boolean }>(DELETE, [id]);
    return row.deleted;
  }

  async list(page: PageRequest): Promise<Page> {
    // The function reads one extra row to tell whether another page follows.
    const row = await this.database.read<PageRow>(PAGE, [
      page.limit,
      page.after?.createdAt ?? null,
      page.after?.id ?? null,
    ]);
    const next =
      row.has_more && row.last_created_at !== null && row.last_id !== null
        ? { createdAt: row.last_created_at, id: row.last_id }
        : undefined;
    return { itemsJson: row.items_body, next };
  }
}
