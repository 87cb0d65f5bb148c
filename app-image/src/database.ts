import { DatabaseError, type QueryResultRow } from "pg";
import { PipelinedConnections, type ConnectionStats, type Statement } from "./connections";
import { databaseTls, explainTlsFailure } from "./database-tls";
import { DependencyState } from "./dependency-state";
import { badRequest, serviceUnavailable } from "./errors";
import { describeEndpoint, type Logger } from "./logging";
import { withTimeout } from "./timeout";

export interface PoolStats extends ConnectionStats {
  /** "primary", or "replica-<n>" in the order of the configured replica URLs. */
  readonly pool: string;
}

export interface DatabaseOptions {
  readonly primaryUrl: string;
  /** Every read replica; reads are spread across the ones that are fresh and answering. */
  readonly replicaUrls: readonly string[];
  /** Connections to each server (pipelined: connections.ts). */
  readonly poolMax: number;
  /** PEM of the servers' CA: TLS, verified, to every database server (database-tls.ts). */
  readonly caCert: string | undefined;
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
  // Client-side backstop for a network that drops packets instead of refusing connections: the
  // query fails and its connection is dropped; on a pipelined connection, with every statement on it.
  query_timeout: 6_000,
  keepAlive: true,
};

/**
 * Longest a replica may stay silent (no query of this process answered) while reads wait on it:
 * then it counts as hung, the waiting reads go to the primary and the replica leaves the rotation.
 * With the watch interval this keeps a hung replica's cost per read under 300 ms. A replica that is
 * merely busy keeps answering some query all the time, so load alone does not trip it.
 */
const REPLICA_SILENCE_LIMIT_MS = 250;
const REPLICA_WATCH_INTERVAL_MS = 25;
/** While a replica is out of rotation, how often a separate connection checks whether it answers. */
const REPLICA_PROBE_INTERVAL_MS = 500;
const RETRY_AFTER_SECONDS = 5;
/**
 * SQLSTATEs of a statement that names a function or table the replica does not have yet: right after
 * a migration (a fresh database, a new version) the replica may not have replayed it.
 */
const SCHEMA_NOT_REPLAYED = new Set(["42883", "42P01"]);

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
  const explained = explainTlsFailure(error);
  return new DatabaseUnavailable(explained instanceof Error ? explained.message : String(error), {
    cause: error,
  });
}

/** A WAL position "X/Y" as two numbers, compared without BigInt on every write. */
function laterLsn(candidate: string, current: string): boolean {
  const [candidateHigh = "0", candidateLow = "0"] = candidate.split("/");
  const [currentHigh = "0", currentLow = "0"] = current.split("/");
  const high = parseInt(candidateHigh, 16) - parseInt(currentHigh, 16);
  return high > 0 || (high === 0 && parseInt(candidateLow, 16) > parseInt(currentLow, 16));
}

/** TLS options for every database connection: verified against DATABASE_CA_CERT, or the URL's own. */
type DatabaseTls = ReturnType<typeof databaseTls> | undefined;

function connectTo(connectionString: string, max: number, state: DependencyState, ssl: DatabaseTls) {
  return new PipelinedConnections({ ...POOL_SETTINGS, connectionString, ssl }, max, (error) =>
    state.failed(error, "its connection was closed"),
  );
}

/** One read replica: its connections, and whether reads may use it. */
class Replica {
  readonly connections: PipelinedConnections;
  readonly state: DependencyState;
  /** False from a failure or a silence until the probe sees the replica answer again. */
  inRotation = true;
  private probeTimer: NodeJS.Timeout | undefined;
  /** Reads waiting on this replica, oldest first. */
  private readonly waiting = new Set<WaitingRead>();
  private lastAnswerAt = 0;
  private watchTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    url: string,
    poolMax: number,
    ssl: DatabaseTls,
    log: Logger,
  ) {
    this.state = new DependencyState(`${name} database`, log);
    this.connections = connectTo(url, poolMax, this.state, ssl);
  }

  /**
   * The replica's row, or undefined when it failed or went silent while this read waited; then the
   * read is the primary's, and the replica's connections are dropped.
   */
  read<Row extends ReadRow>(statement: Statement, values: readonly unknown[]): Promise<Row | undefined> {
    return new Promise<Row | undefined>((resolve, reject) => {
      const read: WaitingRead = { startedAt: Date.now(), abandon: () => resolve(undefined) };
      this.waiting.add(read);
      this.watchTimer ??= setInterval(() => this.watch(), REPLICA_WATCH_INTERVAL_MS).unref();
      this.connections.query<Row>(statement, values).then(
        (rows) => {
          const row = PostgresRow.single(rows);
          this.answered(read);
          this.state.recovered();
          resolve(row);
        },
        (error: unknown) => {
          const classified = classify(error);
          if (classified instanceof DatabaseUnavailable) {
            this.waiting.delete(read);
            this.takeOutOfRotation(classified);
            resolve(undefined);
          } else if (error instanceof DatabaseError && SCHEMA_NOT_REPLAYED.has(error.code ?? "")) {
            // A replica that has not replayed the latest migration yet: the primary answers.
            this.answered(read);
            resolve(undefined);
          } else {
            this.answered(read);
            reject(classified instanceof Error ? classified : new Error(String(classified)));
          }
        },
      );
    });
  }

  /**
   * Takes the replica out of rotation and drops its connections, which may hang; a background probe
   * brings it back once it answers, and reads then open new connections.
   */
  takeOutOfRotation(error: unknown): void {
    this.state.failed(error, "reads skip it until it answers again");
    if (!this.inRotation) return;
    this.inRotation = false;
    this.connections.reset();
    this.probeTimer = setInterval(() => void this.probe(), REPLICA_PROBE_INTERVAL_MS).unref();
  }

  close(): Promise<void> {
    clearInterval(this.probeTimer);
    clearInterval(this.watchTimer);
    return this.connections.end();
  }

  private answered(read: WaitingRead): void {
    this.waiting.delete(read);
    this.lastAnswerAt = Date.now();
  }

  /** Silent since the later of its last answer and the oldest waiting read's start: hung. */
  private watch(): void {
    const oldest = this.waiting.values().next().value;
    if (oldest === undefined) {
      clearInterval(this.watchTimer);
      this.watchTimer = undefined;
      return;
    }
    if (Date.now() - Math.max(this.lastAnswerAt, oldest.startedAt) < REPLICA_SILENCE_LIMIT_MS) return;
    this.takeOutOfRotation(new Error(`no answer for ${REPLICA_SILENCE_LIMIT_MS} ms`));
    for (const read of this.waiting) read.abandon();
    this.waiting.clear();
  }

  /** A connection of its own, so the probe never queues behind or reuses a hung one. */
  private async probe(): Promise<void> {
    try {
      const client = await this.connections.session({
        connectionTimeoutMillis: REPLICA_SILENCE_LIMIT_MS,
        query_timeout: REPLICA_SILENCE_LIMIT_MS,
      });
      try {
        await client.query("SELECT 1");
      } finally {
        void client.end().catch(() => undefined);
      }
      if (this.inRotation) return;
      this.inRotation = true;
      clearInterval(this.probeTimer);
      this.state.recovered();
    } catch {
      // still out of rotation; the next probe tries again
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
  private readonly primary: PipelinedConnections;
  private readonly primaryState: DependencyState;
  private readonly replicas: readonly Replica[];
  private nextReplica = 0;
  private highestCommitLsn = NO_FLOOR;

  constructor(options: DatabaseOptions) {
    this.primaryState = new DependencyState("primary database", options.log);
    const ssl = options.caCert === undefined ? undefined : databaseTls(options.caCert);
    this.primary = connectTo(options.primaryUrl, options.poolMax, this.primaryState, ssl);
    this.replicas = options.replicaUrls.map(
      (url, index) => new Replica(`replica-${index + 1}`, url, options.poolMax, ssl, options.log),
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
  async write<Row extends WriteRow>(statement: Statement, values: readonly unknown[]): Promise<Row> {
    const row = await this.onPrimary<Row>(statement, values);
    if (laterLsn(row.commit_lsn, this.highestCommitLsn)) this.highestCommitLsn = row.commit_lsn;
    return row;
  }

  /**
   * Runs a read statement whose last parameter is the freshness floor (appended here) on a replica
   * in rotation, else on the primary. A replica row that is not fresh, or for which `askPrimary`
   * is true (say, a row not there yet), is read again on the primary.
   */
  async read<Row extends ReadRow>(
    statement: Statement,
    values: readonly unknown[],
    askPrimary: (row: Row) => boolean = () => false,
  ): Promise<Row> {
    const replica = this.replicaInRotation();
    if (replica) {
      const row = await replica.read<Row>(statement, [...values, this.highestCommitLsn]);
      if (row?.fresh && !askPrimary(row)) return row;
    }
    return this.readPrimary<Row>(statement, values);
  }

  /** Runs a read statement on the primary: the one source that has every acknowledged write of every process. */
  readPrimary<Row extends ReadRow>(statement: Statement, values: readonly unknown[]): Promise<Row> {
    return this.onPrimary<Row>(statement, [...values, NO_FLOOR]);
  }

  /** The primary answers `SELECT 1` within `timeoutMs`. */
  async primaryAnswers(timeoutMs: number): Promise<boolean> {
    // With every connection busy, a probe would queue behind the requests and fail under load alone,
    // taking a working replica of the service out of rotation; the last query's outcome decides.
    if (this.primary.saturated) return this.primaryState.isAvailable;
    try {
      await withTimeout(this.primary.query("SELECT 1"), timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  poolStats(): PoolStats[] {
    return [
      { pool: "primary", ...this.primary.stats() },
      ...this.replicas.map(({ name, connections }) => ({ pool: name, ...connections.stats() })),
    ];
  }

  /** The primary's connections themselves, for migrations (one session under an advisory lock). */
  get primaryConnections(): PipelinedConnections {
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
    statement: Statement,
    values: readonly unknown[],
  ): Promise<Row> {
    try {
      const rows = await this.primary.query<Row>(statement, values);
      this.primaryState.recovered();
      return PostgresRow.single(rows);
    } catch (error) {
      const classified = classify(error);
      if (!(classified instanceof DatabaseUnavailable)) throw classified;
      this.primaryState.failed(classified, "requests answer 503");
      throw serviceUnavailable("The database is unavailable", RETRY_AFTER_SECONDS, classified);
    }
  }
}

interface WaitingRead {
  readonly startedAt: number;
  abandon(): void;
}

const PostgresRow = {
  /** Every statement here returns exactly one row (a CALL, or a function that returns one). */
  single<Row>(rows: readonly Row[]): Row {
    const [row] = rows;
    if (row === undefined) throw new Error("the statement returned no row");
    return row;
  },
};
