import { Client, type ClientConfig, type QueryResultRow } from "pg";

/**
 * A statement with a name: each connection parses and plans it once (pg's named prepared
 * statements) and afterwards sends only its parameters. The name carries the schema version that
 * defines the statement's functions, so a later migration that changes their result types comes
 * with new names instead of failing with "cached plan must not change result type".
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export interface ConnectionStats {
  readonly open: number;
  /** Open connections with no statement in flight. */
  readonly idle: number;
  /** Statements sent behind another one on their connection, not yet answered. */
  readonly waiting: number;
}

interface Connection {
  readonly client: Client;
  readonly connected: Promise<Client>;
  inFlight: number;
  /** Statements written since the last flush wait in the socket's buffer (corked). */
  corked: boolean;
}

/**
 * Up to `max` connections to one server, each in pg's pipeline mode: a statement is written at once
 * on the connection with the fewest statements in flight, instead of waiting for a connection of its
 * own as with pg's Pool. Under load the server reads many statements per read and the process many
 * answers per read: half the client CPU per statement with 200 requests in flight (`npm run bench`).
 * The statements of one turn of the event loop (the requests read in one poll) leave in one write
 * per connection. Connections open on demand, one more whenever every open one is busy; a broken
 * one is dropped and its statements fail at once, and the next statement opens a new one.
 */
export class PipelinedConnections {
  private readonly connections: Connection[] = [];

  constructor(
    private readonly config: ClientConfig,
    private readonly max: number,
    /** An error of a connection, in flight or idle; its statements also reject with it. */
    private readonly onConnectionError: (error: unknown) => void,
  ) {}

  /** The rows of one statement; rejects with pg's error. */
  async query<Row extends QueryResultRow>(
    statement: Statement | string,
    values: readonly unknown[] = [],
  ): Promise<Row[]> {
    const connection = this.leastBusy();
    connection.inFlight++;
    try {
      const client = await connection.connected;
      if (!connection.corked) {
        connection.corked = true;
        const socket = client.connection.stream;
        socket.cork();
        // After the poll phase, so every statement that the requests read in it sent is in this write.
        setImmediate(() => {
          connection.corked = false;
          socket.uncork();
        });
      }
      const config = typeof statement === "string" ? { text: statement } : statement;
      const { rows } = await client.query<Row>({ ...config, values: values as unknown[] });
      return rows;
    } finally {
      connection.inFlight--;
    }
  }

  /** A connection of its own, outside the pipeline, for work that needs one session; the caller ends it. */
  async session(overrides: ClientConfig = {}): Promise<Client> {
    const client = new Client({ ...this.config, ...overrides });
    client.on("error", () => undefined); // the caller's queries reject with it
    await client.connect();
    return client;
  }

  /** True when every connection that may open is open and busy: statements queue behind others. */
  get saturated(): boolean {
    return this.connections.length >= this.max && this.connections.every(({ inFlight }) => inFlight > 0);
  }

  stats(): ConnectionStats {
    let idle = 0;
    let waiting = 0;
    for (const { inFlight } of this.connections) {
      if (inFlight === 0) idle++;
      else waiting += inFlight - 1;
    }
    return { open: this.connections.length, idle, waiting };
  }

  /** Drops every connection (a hung server): the next statement opens a new one. */
  reset(): void {
    for (const connection of this.connections.splice(0)) void connection.client.end().catch(() => undefined);
  }

  async end(): Promise<void> {
    await Promise.all(this.connections.splice(0).map(({ client }) => client.end().catch(() => undefined)));
  }

  private leastBusy(): Connection {
    let best: Connection | undefined;
    for (const connection of this.connections) {
      if (best === undefined || connection.inFlight < best.inFlight) best = connection;
    }
    if (best !== undefined && (best.inFlight === 0 || this.connections.length >= this.max)) return best;
    return this.open();
  }

  private open(): Connection {
    const client = new Client({ ...this.config, pipeline: true });
    const drop = () => {
      const index = this.connections.indexOf(connection);
      if (index >= 0) this.connections.splice(index, 1);
    };
    client.on("error", (error) => {
      drop();
      this.onConnectionError(error);
      void client.end().catch(() => undefined);
    });
    client.on("end", drop);
    const connection: Connection = {
      client,
      connected: client.connect().then(
        () => client,
        (error: unknown) => {
          drop();
          throw error;
        },
      ),
      inFlight: 0,
      corked: false,
    };
    // Awaited by every statement sent on it; this only keeps a failed connect from going unhandled.
    connection.connected.catch(() => undefined);
    this.connections.push(connection);
    return connection;
  }
}
