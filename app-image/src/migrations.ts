import type { PipelinedConnections } from "./connections";
import { explainTlsFailure } from "./database-tls";
import type { Logger } from "./logging";

interface Migration {
  readonly version: number;
  readonly sql: string;
}

/** Append only: a released migration never changes; each is idempotent on its own as well. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS items (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        data jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
        updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
      );
      CREATE INDEX IF NOT EXISTS items_created_at_id_idx ON items (created_at DESC, id DESC);`,
  },
  {
    // One round trip per request: each write commits inside its procedure and returns the WAL
    // position after its commit record; each read checks the replica's freshness and then reads
    // with a snapshot taken after that check (a VOLATILE function takes one per statement). Items
    // leave the database as the JSON the API sends, so the API neither parses nor re-serialises them.
    version: 2,
    sql: `
      CREATE OR REPLACE FUNCTION item_timestamp(at timestamptz) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE
        RETURN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

      CREATE OR REPLACE FUNCTION item_json(item items) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE
        RETURN '{"id":"' || item.id || '","name":' || to_json(item.name)::text
          || ',"data":' || item.data::text || ',"version":' || item.version
          || ',"createdAt":"' || item_timestamp(item.created_at)
          || '","updatedAt":"' || item_timestamp(item.updated_at) || '"}';

      -- True on the primary; on a replica, when it replayed everything it received and min_lsn.
      CREATE OR REPLACE FUNCTION item_source_fresh(min_lsn pg_lsn) RETURNS boolean
        LANGUAGE sql VOLATILE
        RETURN NOT pg_is_in_recovery()
          OR coalesce(pg_last_wal_replay_lsn() >= greatest(min_lsn, pg_last_wal_receive_lsn()), false);

      CREATE OR REPLACE PROCEDURE item_create(
        new_name text, new_data jsonb,
        INOUT item_id uuid DEFAULT NULL, INOUT item_version integer DEFAULT NULL,
        INOUT item_body text DEFAULT NULL, INOUT commit_lsn text DEFAULT NULL)
      LANGUAGE plpgsql AS $$
      DECLARE
        created items;
      BEGIN
        INSERT INTO items (name, data, created_at, updated_at)
          VALUES (new_name, new_data, date_trunc('milliseconds', clock_timestamp()),
                  date_trunc('milliseconds', clock_timestamp()))
          RETURNING * INTO created;
        item_id := created.id;
        item_version := created.version;
        item_body := item_json(created);
        COMMIT;
        commit_lsn := pg_current_wal_insert_lsn()::text;
      END $$;

      -- expected NULL: any current version. Not updated: current_version says why (NULL: no such item).
      CREATE OR REPLACE PROCEDURE item_update(
        target uuid, new_name text, new_data jsonb, expected bigint,
        INOUT item_version integer DEFAULT NULL, INOUT item_body text DEFAULT NULL,
        INOUT current_version integer DEFAULT NULL, INOUT commit_lsn text DEFAULT NULL)
      LANGUAGE plpgsql AS $$
      DECLARE
        updated items;
      BEGIN
        UPDATE items SET name = new_name, data = new_data, version = version + 1,
            updated_at = date_trunc('milliseconds', clock_timestamp())
          WHERE id = target AND (expected IS NULL OR version = expected)
          RETURNING * INTO updated;
        IF updated.id IS NOT NULL THEN
          item_version := updated.version;
          item_body := item_json(updated);
        ELSE
          SELECT version INTO current_version FROM items WHERE id = target;
        END IF;
        COMMIT;
        commit_lsn := pg_current_wal_insert_lsn()::text;
      END $$;

      CREATE OR REPLACE PROCEDURE item_delete(
        target uuid, INOUT deleted boolean DEFAULT NULL, INOUT commit_lsn text DEFAULT NULL)
      LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM items WHERE id = target;
        deleted := FOUND;
        COMMIT;
        commit_lsn := pg_current_wal_insert_lsn()::text;
      END $$;

      CREATE OR REPLACE FUNCTION item_read(target uuid, min_lsn pg_lsn)
        RETURNS TABLE (fresh boolean, item_version integer, item_body text)
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        fresh := item_source_fresh(min_lsn);
        IF fresh THEN
          SELECT i.version, item_json(i) INTO item_version, item_body FROM items i WHERE i.id = target;
        END IF;
        RETURN NEXT;
      END $$;

      -- A page in list order after (after_created, after_id), or from the top when they are NULL.
      CREATE OR REPLACE FUNCTION items_page(
        page_limit integer, after_created timestamptz, after_id uuid, min_lsn pg_lsn)
        RETURNS TABLE (fresh boolean, items_body text, has_more boolean, last_created_at text, last_id uuid)
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        fresh := item_source_fresh(min_lsn);
        IF fresh THEN
          WITH page AS (
            SELECT i AS item, row_number() OVER (ORDER BY i.created_at DESC, i.id DESC) AS position
            FROM items i
            WHERE (i.created_at, i.id) < (coalesce(after_created, 'infinity'),
                                          coalesce(after_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
            ORDER BY i.created_at DESC, i.id DESC
            LIMIT page_limit + 1)
          SELECT '[' || coalesce(string_agg(item_json(item), ',' ORDER BY position)
                                   FILTER (WHERE position <= page_limit), '') || ']',
                 count(*) > page_limit,
                 item_timestamp((array_agg((item).created_at ORDER BY position DESC)
                                   FILTER (WHERE position <= page_limit))[1]),
                 (array_agg((item).id ORDER BY position DESC) FILTER (WHERE position <= page_limit))[1]
            INTO items_body, has_more, last_created_at, last_id
            FROM page;
        END IF;
        RETURN NEXT;
      END $$;`,
  },
];

const NEWEST_VERSION = Math.max(...MIGRATIONS.map(({ version }) => version));
// 42P01: schema_migrations does not exist yet (a first start).
const UNDEFINED_TABLE = "42P01";

// Arbitrary, but the same in every replica of this service.
export const MIGRATION_LOCK_KEY = "7340937101";
// Replicas starting together queue on the lock; the wait is long, not infinite. The session's
// client-side timeout is longer still: the server's statement_timeout ends a wait, never the client.
const LOCK_WAIT_MS = 120_000;
const LOCK_SESSION_QUERY_TIMEOUT_MS = LOCK_WAIT_MS + 5_000;

/**
 * Brings the schema to the newest version. Many processes may run this at once against an empty
 * database: a session advisory lock on one dedicated connection lets one migrate while the others
 * wait, then find nothing left to do.
 */
export async function migrate(connections: PipelinedConnections, log: Logger): Promise<void> {
  // The first query of the process: a TLS verification failure surfaces here and names its cause.
  const current = await isCurrent(connections).catch((error: unknown) => {
    throw explainTlsFailure(error);
  });
  if (current) return;
  const client = await connections.session({ query_timeout: LOCK_SESSION_QUERY_TIMEOUT_MS });
  try {
    await client.query(`SET statement_timeout = ${LOCK_WAIT_MS}`);
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    const applied = new Set(rows.map((row) => row.version));
    for (const migration of MIGRATIONS.filter(({ version }) => !applied.has(version))) {
      await client.query("BEGIN");
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [migration.version]);
      await client.query("COMMIT");
      log.info({ version: migration.version }, "schema migration applied");
    }
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  } finally {
    // Ending the session also drops, after a failure, the lock and an open transaction.
    await client.end().catch(() => undefined);
  }
}

/**
 * One query, no lock: versions are append-only, so a schema at the newest version stays there and
 * a start-up of an already migrated database pays one round trip, not the lock's six.
 */
async function isCurrent(connections: PipelinedConnections): Promise<boolean> {
  try {
    const rows = await connections.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM schema_migrations",
    );
    return (rows[0]?.version ?? 0) >= NEWEST_VERSION;
  } catch (error) {
    if ((error as { code?: unknown }).code === UNDEFINED_TABLE) return false;
    throw error;
  }
}
