import { DatabaseError, Pool, type PoolClient, type QueryResult, type QueryResultRow } from "pg";
import { databaseTls, explainTlsFailure } from "./database-tls";
import { DependencyState } from "./dependency-state";
import { badRequest, serviceUnavailable } from "./errors";
import { describeEndpoint, type Logger } from "./logging";
import { withTimeout } from "./timeout";

export interface Queryable {
  query<Row extends QueryResultRow>(text: string, values?: readonly unknown[]): Promise<QueryResult<Row>>;
}

export type PoolName = "primary" | "replica";

export interface PoolStats {
  readonly pool: PoolName;
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface DatabaseOptions {
  readonly primaryUrl: string;
  readonly replicaUrl: string | undefined;
  readonly poolMax: number;
  /** PEM of the servers' CA: TLS, verified, to every database server (database-tls.ts). */
  readonly caCert: string | undefined;
  readonly log: Logger;
}

const POOL_SETTINGS = {
  application_name: "items-api",
  // A dead or saturated database must turn into a fast 503, never a hanging request.
  connectionTimeoutMillis: 2_000,
  statement_timeout: 5_000,
  // Client-side backstop for a network that drops packets instead of refusing connections.
  query_timeout: 6_000,
  idleTimeoutMillis: 30_000,
  keepAlive: true,
};

/** After a replica failure, reads skip it for this long instead of paying a connect timeout each. */
const REPLICA_RETRY_DELAY_MS = 5_000;
const RETRY_AFTER_SECONDS = 5;

/*
 * A replica answers only when it has replayed everything it received (so replay is not paused or
 * behind) and every commit this process acknowledged. The check runs as its own statement before
 * the read on the same connection: a read-committed snapshot taken after it is at least as fresh.
 */
const REPLICA_FRESHNESS_SQL = `
  SELECT NOT pg_is_in_recovery()
      OR coalesce(pg_last_wal_replay_lsn() >= greatest($1::pg_lsn, pg_last_wal_receive_lsn()), false) AS fresh`;

// The insert position is at or past the end of every commit record written so far, even with
// synchronous_commit off; a replica that replayed up to it has our writes.
const COMMIT_LSN_SQL = "SELECT pg_current_wal_insert_lsn()::text AS lsn";

// 08 connection, 53 resources, 57 operator intervention (shutdown, statement timeout),
// 58 system, 40 rollback (deadlock, serialization, recovery conflict on a replica).
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(["08", "53", "57", "58", "40"]);
const DATA_EXCEPTION_SQLSTATE_CLASS = "22";

/** Failure to reach or use the database, as opposed to an error about the SQL itself. */
class DatabaseUnavailable extends Error {
  override readonly name = "DatabaseUnavailable";
}

function classify(error: unknown): unknown {
  if (error instanceof DatabaseError) {
    const sqlStateClass = error.code?.slice(0, 2) ?? "";
    if (UNAVAILABLE_SQLSTATE_CLASSES.has(sqlStateClass))
      return new DatabaseUnavailable(error.message, { cause: error });
    if (sqlStateClass === DATA_EXCEPTION_SQLSTATE_CLASS)
      return badRequest("The database rejected a value of the request");
    return error;
  }
  // Anything else a query throws is about the connection: refused, reset, timed out, pool ended.
  const explained = explainTlsFailure(error);
  return new DatabaseUnavailable(explained instanceof Error ? explained.message : String(error), {
    cause: error,
  });
}

function guarded(target: Pool | PoolClient): Queryable {
  return {
    query: <Row extends QueryResultRow>(text: string, values?: readonly unknown[]) =>
      target.query<Row>(text, values as unknown[] | undefined).catch((error: unknown) => {
        throw classify(error);
      }),
  };
}

function lsnValue(lsn: string): bigint {
  const [high = "0", low = "0"] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/**
 * The primary and the optional read replica. Writes go to the primary; `read` goes to the replica
 * only when it is known to hold every write this process acknowledged, else to the primary.
 * Writes of other processes are invisible here: callers that need them use `readPrimary`.
 */
export class Database {
  private readonly primary: Pool;
  private readonly replica: Pool | undefined;
  private readonly primaryState: DependencyState;
  private readonly replicaState: DependencyState;
  private replicaRetryAt = 0;
  private highestCommitLsn = "0/0";

  constructor(options: DatabaseOptions) {
    this.primaryState = new DependencyState("primary database", options.log);
    this.replicaState = new DependencyState("replica database", options.log);
    this.primary = this.createPool(options.primaryUrl, options, this.primaryState);
    this.replica = options.replicaUrl
      ? this.createPool(options.replicaUrl, options, this.replicaState)
      : undefined;
    options.log.info(
      {
        primary: describeEndpoint(options.primaryUrl),
        replica: options.replicaUrl ? describeEndpoint(options.replicaUrl) : null,
      },
      options.replicaUrl
        ? "database: writes to the primary, fresh reads from the replica"
        : "database: primary only",
    );
  }

  /** Runs `work` on the primary; once it resolves, reads from this process see its commits. */
  async write<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    return this.onPrimary(async (db) => {
      const result = await work(db);
      if (this.replica) this.recordCommit((await db.query<{ lsn: string }>(COMMIT_LSN_SQL)).rows[0]?.lsn);
      return result;
    });
  }

  /**
   * Runs `work` on a fresh replica when there is one, else on the primary. A replica result for
   * which `askPrimary` is true (say, a row not there yet) is read again on the primary.
   */
  async read<T>(
    work: (db: Queryable) => Promise<T>,
    askPrimary: (result: T) => boolean = () => false,
  ): Promise<T> {
    if (this.replica && Date.now() >= this.replicaRetryAt) {
      const fromReplica = await this.readFreshReplica(this.replica, work);
      if (fromReplica && !askPrimary(fromReplica.result)) return fromReplica.result;
    }
    return this.onPrimary(work);
  }

  /** Runs `work` on the primary: the one source that has every acknowledged write of every process. */
  readPrimary<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    return this.onPrimary(work);
  }

  /** The primary answers `SELECT 1` within `timeoutMs`. */
  async primaryAnswers(timeoutMs: number): Promise<boolean> {
    // With every connection busy, a probe would queue behind the requests and fail under load alone,
    // taking a working replica of the service out of rotation; the last query's outcome decides.
    if (this.primary.waitingCount > 0) return this.primaryState.isAvailable;
    try {
      await withTimeout(this.primary.query("SELECT 1"), timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  poolStats(): PoolStats[] {
    const pools: [PoolName, Pool | undefined][] = [
      ["primary", this.primary],
      ["replica", this.replica],
    ];
    return pools.flatMap(([pool, target]) =>
      target
        ? [{ pool, total: target.totalCount, idle: target.idleCount, waiting: target.waitingCount }]
        : [],
    );
  }

  /** The primary pool itself, for work that needs one session (migrations under an advisory lock). */
  get primaryPool(): Pool {
    return this.primary;
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.end(), this.replica?.end()]);
  }

  private createPool(
    connectionString: string,
    { poolMax, caCert }: DatabaseOptions,
    state: DependencyState,
  ): Pool {
    const ssl = caCert === undefined ? undefined : databaseTls(caCert);
    const pool = new Pool({ ...POOL_SETTINGS, connectionString, max: poolMax, ssl });
    // An idle connection that breaks emits here; without a listener it would crash the process.
    pool.on("error", (error) => state.failed(error, "its idle connection was closed"));
    return pool;
  }

  private async onPrimary<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    try {
      const result = await work(guarded(this.primary));
      this.primaryState.recovered();
      return result;
    } catch (error) {
      if (!(error instanceof DatabaseUnavailable)) throw error;
      this.primaryState.failed(error, "requests answer 503");
      throw serviceUnavailable("The database is unavailable", RETRY_AFTER_SECONDS, error);
    }
  }

  private async readFreshReplica<T>(
    replica: Pool,
    work: (db: Queryable) => Promise<T>,
  ): Promise<{ result: T } | undefined> {
    let client: PoolClient | undefined;
    try {
      client = await replica.connect();
      const db = guarded(client);
      const { rows } = await db.query<{ fresh: boolean }>(REPLICA_FRESHNESS_SQL, [this.highestCommitLsn]);
      const fromReplica = rows[0]?.fresh ? { result: await work(db) } : undefined;
      client.release();
      this.replicaState.recovered();
      return fromReplica;
    } catch (error) {
      const unavailable = error instanceof DatabaseUnavailable || !client;
      client?.release(unavailable);
      if (!unavailable) throw error;
      this.replicaRetryAt = Date.now() + REPLICA_RETRY_DELAY_MS;
      this.replicaState.failed(error, "reads go to the primary");
      return undefined;
    }
  }

  private recordCommit(lsn: string | undefined): void {
    if (lsn && lsnValue(lsn) > lsnValue(this.highestCommitLsn)) this.highestCommitLsn = lsn;
  }
}
