// Direct PostgreSQL access for black-box tests. The schema is not part of the contract, so the table
// holding items is found by looking for a known item id in every table with an `id` column.
import { Client } from "pg";
import { waitFor } from "../../local/processes";

export const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
};

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export async function connectTo(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Qualified, quoted name of the user table that holds the row with `id = itemId`. */
export async function findItemsTable(client: Client, itemId: string): Promise<string> {
  const { rows } = await client.query<{ schema: string; table: string }>(
    `SELECT c.table_schema AS schema, c.table_name AS table
       FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.column_name = 'id' AND t.table_type = 'BASE TABLE'
        AND c.table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  for (const { schema, table } of rows) {
    const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    const found = await client.query(`SELECT 1 FROM ${qualified} WHERE id::text = $1`, [itemId]);
    if (found.rowCount !== null && found.rowCount > 0) return qualified;
  }
  throw new Error(`no table on the primary holds item ${itemId}`);
}

export async function primaryRow(
  client: Client,
  table: string,
  itemId: string,
): Promise<Record<string, unknown> | undefined> {
  const { rows } = await client.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE id::text = $1`, [
    itemId,
  ]);
  return rows[0];
}

export interface RowLock {
  /** Commits the locking transaction and disconnects. */
  release(): Promise<void>;
}

/** Holds `SELECT ... FOR UPDATE` on the item's row, so every write to it blocks until `release`. */
export async function lockItemRow(primaryUrl: string, itemId: string): Promise<RowLock> {
  const client = await connectTo(primaryUrl);
  try {
    const table = await findItemsTable(client, itemId);
    await client.query("BEGIN");
    await client.query(`SELECT 1 FROM ${table} WHERE id::text = $1 FOR UPDATE`, [itemId]);
  } catch (error) {
    await client.end();
    throw error;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      try {
        await client.query("COMMIT");
      } finally {
        await client.end();
      }
    },
  };
}

/** Waits until at least `count` sessions of the database wait on a lock (requests held in flight). */
export async function waitForLockWaiters(
  primaryUrl: string,
  count: number,
  timeoutMs = 15_000,
): Promise<void> {
  const client = await connectTo(primaryUrl);
  try {
    await waitFor(
      `${count} sessions waiting on a row lock`,
      async () => {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        return rows[0].n >= count ? true : undefined;
      },
      { timeoutMs },
    );
  } finally {
    await client.end();
  }
}
