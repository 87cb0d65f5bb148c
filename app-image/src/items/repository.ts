import type { Database, Queryable } from "../database";
import type { Item, ItemInput, PageRequest } from "./schema";

export type UpdateResult =
  | { readonly outcome: "updated"; readonly item: Item }
  | { readonly outcome: "not-found" }
  | { readonly outcome: "version-mismatch"; readonly currentVersion: number };

export interface Page {
  readonly items: readonly Item[];
  readonly hasMore: boolean;
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
  create(input: ItemInput): Promise<Item>;
  get(id: string, source?: ReadSource): Promise<Item | undefined>;
  /** `expectedVersion` undefined: update whatever the current version is. */
  update(id: string, input: ItemInput, expectedVersion: number | undefined): Promise<UpdateResult>;
  /** False when there was no such item. */
  delete(id: string): Promise<boolean>;
  /** Newest first: createdAt DESC, then id DESC. */
  list(page: PageRequest): Promise<Page>;
}

interface ItemRow {
  id: string;
  name: string;
  data: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = "id, name, data, version, created_at, updated_at";
// Timestamps are cut to milliseconds on write so a cursor (ISO, ms) compares exactly.
const NOW_MS = "date_trunc('milliseconds', clock_timestamp())";

function toItem(row: ItemRow): Item {
  return {
    id: row.id,
    name: row.name,
    data: row.data,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export class PostgresItemsRepository implements ItemsRepository {
  constructor(private readonly database: Database) {}

  async create(input: ItemInput): Promise<Item> {
    return this.database.write(async (db) => {
      const { rows } = await db.query<ItemRow>(
        `INSERT INTO items (name, data, created_at, updated_at) VALUES ($1, $2::jsonb, ${NOW_MS}, ${NOW_MS})
         RETURNING ${COLUMNS}`,
        [input.name, JSON.stringify(input.data)],
      );
      return toItem(PostgresItemsRepository.single(rows));
    });
  }

  async get(id: string, source: ReadSource = "primary"): Promise<Item | undefined> {
    const selectById = async (db: Queryable) =>
      (await db.query<ItemRow>(`SELECT ${COLUMNS} FROM items WHERE id = $1`, [id])).rows[0];
    const row =
      source === "primary"
        ? await this.database.readPrimary(selectById)
        : // The replica may not have received the insert yet; only the primary can say 404.
          await this.database.read(selectById, (found) => found === undefined);
    return row && toItem(row);
  }

  async update(id: string, input: ItemInput, expectedVersion: number | undefined): Promise<UpdateResult> {
    return this.database.write(async (db) => {
      const { rows } = await db.query<ItemRow>(
        `UPDATE items SET name = $2, data = $3::jsonb, version = version + 1, updated_at = ${NOW_MS}
         WHERE id = $1 AND ($4::bigint IS NULL OR version = $4::bigint)
         RETURNING ${COLUMNS}`,
        [id, input.name, JSON.stringify(input.data), expectedVersion ?? null],
      );
      const [updated] = rows;
      if (updated) return { outcome: "updated", item: toItem(updated) };
      const current = await db.query<{ version: number }>("SELECT version FROM items WHERE id = $1", [id]);
      const [existing] = current.rows;
      return existing
        ? { outcome: "version-mismatch", currentVersion: existing.version }
        : { outcome: "not-found" };
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.database.write(async (db) => {
      const { rowCount } = await db.query("DELETE FROM items WHERE id = $1", [id]);
      return rowCount === 1;
    });
  }

  async list(page: PageRequest): Promise<Page> {
    // One extra row tells whether another page follows, so the last page has no cursor.
    const rows = await this.database.read(async (db) => {
      const query = page.after
        ? db.query<ItemRow>(
            `SELECT ${COLUMNS} FROM items WHERE (created_at, id) < ($2::timestamptz, $3::uuid)
             ORDER BY created_at DESC, id DESC LIMIT $1`,
            [page.limit + 1, page.after.createdAt, page.after.id],
          )
        : db.query<ItemRow>(`SELECT ${COLUMNS} FROM items ORDER BY created_at DESC, id DESC LIMIT $1`, [
            page.limit + 1,
          ]);
      return (await query).rows;
    });
    return { items: rows.slice(0, page.limit).map(toItem), hasMore: rows.length > page.limit };
  }

  private static single(rows: readonly ItemRow[]): ItemRow {
    const [row] = rows;
    if (!row) throw new Error("INSERT ... RETURNING returned no row");
    return row;
  }
}
