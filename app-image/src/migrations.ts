import type { Pool } from "pg";
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
];

// Arbitrary, but the same in every replica of this service.
const MIGRATION_LOCK_KEY = "7340937101";
// Replicas starting together queue on the lock; the wait is long, not infinite.
const LOCK_WAIT_TIMEOUT = "120s";

/**
 * Brings the schema to the newest version. Many processes may run this at once against an empty
 * database: a session advisory lock on one dedicated connection lets one migrate while the others
 * wait, then find nothing left to do.
 */
export async function migrate(pool: Pool, log: Logger): Promise<void> {
  // The first connection of the process: a TLS verification failure surfaces here and names its cause.
  const client = await pool.connect().catch((error: unknown) => {
    throw explainTlsFailure(error);
  });
  try {
    await client.query(`SET statement_timeout = '${LOCK_WAIT_TIMEOUT}'`);
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
    // Not back to the pool: the session carries its own statement_timeout (and, after a failure,
    // the lock and an open transaction, which ending the session drops).
    client.release(true);
  }
}
