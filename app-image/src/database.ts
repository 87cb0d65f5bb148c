import { Client, DatabaseError, Pool, type PoolClient, type QueryResultRow } from "pg";
import { Deadlines } from "./deadlines";
import { DependencyState } from "./dependency-state";
import { badRequest, serviceUnavailable } from "./errors";
import { describeEndpoint, type Logger } from "./logging";
import { withTimeout } from "./timeout";

export interface PoolStats {
  /** "primary", or "replica-<n>" in the order of the configured replica URLs. */
  readonly pool: string;
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface DatabaseOptions {
  readonly primaryUrl: string;
  /** Every read replica; reads are spread across the ones that are fresh and answering. */
  readonly replicaUrls: readonly string[];
  readonly poolMax: number;
  readonly log: Logger;
}

/** Every write statement returns the WAL position after its commit (migrations.ts, version 2). */
export interface WriteRow extends QueryResultRow {
  readonly commit_lsn: string;
}

/** Every read statement says whether its source was fresh enough to answer (migrations.ts, version 2). */
export interface ReadRow extends QueryResultRow {
  readonly fresh: boolean;
}

const POOL_SETTINGS = {
  application_name: "items-api",
  // A dead or saturated database must turn into a fast 503, never a hanging request.
  connectionTimeoutMillis: 2_000,
  statement_timeout: 5_000,
  idleTimeoutMillis: 30_000,
  keepAlive: true,
};
// Client-side backstop for a primary behind a network that drops packets instead of refusing
// connections. Replica reads have their own, much shorter bound (REPLICA_READ_BUDGET_MS).
const PRIMARY_QUERY_TIMEOUT_MS = 6_000;

/**
 * Longest a read waits for a replica (connection included) before the primary answers it instead.
 * With the sweep resolution this keeps a hung replica's cost per read under 300 ms.
 */
const REPLICA_READ_BUDGET_MS = 250;
const DEADLINE_RESOLUTION_MS = 25;
/** While a replica is out of rotation, how often a separate connection checks whether it answers. */
const REPLICA_PROBE_INTERVAL_MS = 500;
const RETRY_AFTER_SECONDS = 5;
/** Passed as the freshness floor where any source will do: the primary is always fresh. */
const NO_FLOOR = "0/0";

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
  return new DatabaseUnavailable(error instanceof Error ? error.message : String(error), { cause: error });
}

/** A WAL position "X/Y" as two numbers, compared without BigInt on every write. */
function laterLsn(candidate: string, current: string): boolean {
  const [candidateHigh = "0", candidateLow = "0"] = candidate.split("/");
  const [currentHigh = "0", currentLow = "0"] = current.split("/");
  const high = parseInt(candidateHigh, 16) - parseInt(currentHigh, 16);
  return high > 0 || (high === 0 && parseInt(candidateLow, 16) > parseInt(currentLow, 16));
}

function createPool(connectionString: string, max: number, state: DependencyState, queryTimeoutMs?: number) {
  const pool = new Pool({ ...POOL_SETTINGS, connectionString, max, query_timeout: queryTimeoutMs });
  // An idle connection that breaks emits here; without a listener it would crash the process.
  pool.on("error", (error) => state.failed(error, "its idle connection was closed"));
  return pool;
}

/** One read replica: its pool, and whether reads may use it. */
class Replica {
  readonly pool: Pool;
  readonly state: DependencyState;
  /** False from a failure or an unanswered read until the probe sees the replica answer again. */
  inRotation = true;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly url: string,
    poolMax: number,
    log: Logger,
  ) {
    this.state = new DependencyState(`${name} database`, log);
    this.pool = createPool(url, poolMax, this.state);
  }

  /** Takes the replica out of rotation; a background probe brings it back once it answers. */
  takeOutOfRotation(error: unknown): void {
    this.state.failed(error, "reads skip it until it answers again");
    if (!this.inRotation) return;
    this.inRotation = false;
    this.probeTimer = setInterval(() => void this.probe(), REPLICA_PROBE_INTERVAL_MS).unref();
  }

  close(): Promise<void> {
    clearInterval(this.probeTimer);
    return this.pool.end();
  }

  /** A fresh connection outside the pool, so the probe never queues behind or reuses a hung one. */
  private async probe(): Promise<void> {
    const client = new Client({
      ...POOL_SETTINGS,
      connectionString: this.url,
      connectionTimeoutMillis: REPLICA_READ_BUDGET_MS,
      query_timeout: REPLICA_READ_BUDGET_MS,
    });
    client.on("error", () => undefined); // the outcome of the query below decides
    try {
      await client.connect();
      await client.query("SELECT 1");
      if (this.inRotation) return;
      this.inRotation = true;
      clearInterval(this.probeTimer);
      this.state.recovered();
    } catch {
      // still out of rotation; the next probe tries again
    } finally {
      void client.end().catch(() => undefined);
    }
  }
}

/**
 * The primary and the read replicas. Writes go to the primary; `read` goes to the next replica in
 * rotation, which answers only when it holds every write this process acknowledged, else the
 * primary answers. Writes of other processes are invisible here: callers that need them use
 * `readPrimary`. Every call is one statement, so one round trip.
 */
export class Database {
  private readonly primary: Pool;
  private readonly primaryState: DependencyState;
  private readonly replicas: readonly Replica[];
  private readonly deadlines = new Deadlines(DEADLINE_RESOLUTION_MS);
  private nextReplica = 0;
  private highestCommitLsn = NO_FLOOR;

  constructor(options: DatabaseOptions) {
    this.primaryState = new DependencyState("primary database", options.log);
    this.primary = createPool(
      options.primaryUrl,
      options.poolMax,
      this.primaryState,
      PRIMARY_QUERY_TIMEOUT_MS,
    );
    this.replicas = options.replicaUrls.map(
      (url, index) => new Replica(`replica-${index + 1}`, url, options.poolMax, options.log),
    );
    options.log.info(
      {
        primary: describeEndpoint(options.primaryUrl),
        replicas: options.replicaUrls.map(describeEndpoint),
      },
      this.replicas.length > 0
        ? `database: writes to the primary, fresh reads from ${this.replicas.length} replica(s)`
        : "database: primary only",
    );
  }

  /** Runs a write statement on the primary; once it resolves, reads from this process see its commit. */
  async write<Row extends WriteRow>(text: string, values: readonly unknown[]): Promise<Row> {
    const row = await this.onPrimary<Row>(text, values);
    if (laterLsn(row.commit_lsn, this.highestCommitLsn)) this.highestCommitLsn = row.commit_lsn;
    return row;
  }

  /**
   * Runs a read statement whose last parameter is the freshness floor (appended here) on a replica
   * in rotation, else on the primary. A replica row that is not fresh, or for which `askPrimary`
   * is true (say, a row not there yet), is read again on the primary.
   */
  async read<Row extends ReadRow>(
    text: string,
    values: readonly unknown[],
    askPrimary: (row: Row) => boolean = () => false,
  ): Promise<Row> {
    const replica = this.replicaInRotation();
    if (replica) {
      const row = await this.readReplica<Row>(replica, text, [...values, this.highestCommitLsn]);
      if (row?.fresh && !askPrimary(row)) return row;
    }
    return this.readPrimary<Row>(text, values);
  }

  /** Runs a read statement on the primary: the one source that has every acknowledged write of every process. */
  readPrimary<Row extends ReadRow>(text: string, values: readonly unknown[]): Promise<Row> {
    return this.onPrimary<Row>(text, [...values, NO_FLOOR]);
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
    return [
      { name: "primary", pool: this.primary },
      ...this.replicas.map(({ name, pool }) => ({ name, pool })),
    ].map(({ name, pool }) => ({
      pool: name,
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }));
  }

  /** The primary pool itself, for work that needs one session (migrations under an advisory lock). */
  get primaryPool(): Pool {
    return this.primary;
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.end(), ...this.replicas.map((replica) => replica.close())]);
  }

  private replicaInRotation(): Replica | undefined {
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const replica = this.replicas[this.nextReplica++ % this.replicas.length];
      if (replica?.inRotation) return replica;
    }
    return undefined;
  }

  private async onPrimary<Row extends QueryResultRow>(
    text: string,
    values: readonly unknown[],
  ): Promise<Row> {
    try {
      const { rows } = await this.primary.query<Row>(text, values as unknown[]);
      this.primaryState.recovered();
      return PostgresRow.single(rows);
    } catch (error) {
      const classified = classify(error);
      if (!(classified instanceof DatabaseUnavailable)) throw classified;
      this.primaryState.failed(classified, "requests answer 503");
      throw serviceUnavailable("The database is unavailable", RETRY_AFTER_SECONDS, classified);
    }
  }

  /**
   * The replica's row, or undefined when it failed or did not answer within the budget. A replica
   * that accepts connections but answers nothing (a hung host) holds the read only that long; the
   * connection it held is destroyed, never returned to the pool.
   */
  private async readReplica<Row extends ReadRow>(
    replica: Replica,
    text: string,
    values: readonly unknown[],
  ): Promise<Row | undefined> {
    const attempt: ReplicaAttempt = { client: undefined, abandoned: false };
    const abandon = () => {
      attempt.abandoned = true;
      // With a query in flight, releasing with an error ends the client by destroying its socket.
      attempt.client?.release(new Error("replica read abandoned"));
      replica.takeOutOfRotation(new Error(`no answer within ${REPLICA_READ_BUDGET_MS} ms`));
    };
    try {
      const row = await this.deadlines.within(
        queryReplica<Row>(replica.pool, text, values, attempt),
        REPLICA_READ_BUDGET_MS,
        abandon,
      );
      replica.state.recovered();
      return row;
    } catch (error) {
      if (attempt.abandoned) return undefined;
      const classified = classify(error);
      if (!(classified instanceof DatabaseUnavailable)) throw classified;
      replica.takeOutOfRotation(classified);
      return undefined;
    }
  }
}

interface ReplicaAttempt {
  client: PoolClient | undefined;
  abandoned: boolean;
}

async function queryReplica<Row extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: readonly unknown[],
  attempt: ReplicaAttempt,
): Promise<Row> {
  const client = await pool.connect();
  if (attempt.abandoned) {
    // The read went to the primary meanwhile; the connection itself is fine.
    client.release();
    throw new Error("replica read abandoned");
  }
  attempt.client = client;
  try {
    const { rows } = await client.query<Row>(text, values as unknown[]);
    if (!attempt.abandoned) client.release();
    return PostgresRow.single(rows);
  } catch (error) {
    if (!attempt.abandoned) client.release(true);
    throw error;
  }
}

const PostgresRow = {
  /** Every statement here returns exactly one row (a CALL, or a function that returns one). */
  single<Row>(rows: readonly Row[]): Row {
    const [row] = rows;
    if (row === undefined) throw new Error("the statement returned no row");
    return row;
  },
};
