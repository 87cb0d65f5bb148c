// How many PostgreSQL connections the API keeps busy while a scenario runs: sampled from
// pg_stat_activity on the primary and the replica, to size app.poolMax from a measurement.
import { Client } from "pg";

export interface BusyConnections {
  readonly primaryMean: number;
  readonly primaryMax: number;
  readonly replicaMean: number;
  readonly replicaMax: number;
}

const BUSY_CLIENT_BACKENDS = `SELECT count(*)::int AS busy FROM pg_stat_activity
  WHERE backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()`;

interface Series {
  readonly samples: number[];
}

export interface ActivitySampler {
  /** Starts a new window; `stop` returns the busy connections seen in it. */
  start(): void;
  stop(): BusyConnections;
  close(): Promise<void>;
}

export async function connectActivitySampler(
  primaryUrl: string,
  replicaUrl: string,
  intervalMs = 250,
): Promise<ActivitySampler> {
  const primary = new Client({ connectionString: primaryUrl });
  const replica = new Client({ connectionString: replicaUrl });
  await Promise.all([primary.connect(), replica.connect()]);
  let timer: NodeJS.Timeout | undefined;
  let primarySeries: Series = { samples: [] };
  let replicaSeries: Series = { samples: [] };
  let inFlight = false;

  const sample = async () => {
    // One probe at a time: a slow answer under load must not pile queries onto the servers.
    if (inFlight) return;
    inFlight = true;
    try {
      const [onPrimary, onReplica] = await Promise.all([
        primary.query<{ busy: number }>(BUSY_CLIENT_BACKENDS),
        replica.query<{ busy: number }>(BUSY_CLIENT_BACKENDS),
      ]);
      primarySeries.samples.push(onPrimary.rows[0].busy);
      replicaSeries.samples.push(onReplica.rows[0].busy);
    } finally {
      inFlight = false;
    }
  };

  const summary = ({ samples }: Series) => ({
    mean: samples.length === 0 ? 0 : samples.reduce((sum, value) => sum + value, 0) / samples.length,
    max: samples.length === 0 ? 0 : Math.max(...samples),
  });

  const stopTimer = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };

  return {
    start() {
      primarySeries = { samples: [] };
      replicaSeries = { samples: [] };
      stopTimer();
      timer = setInterval(() => {
        sample().catch((error: unknown) =>
          process.stderr.write(`pg_stat_activity sample failed: ${String(error)}\n`),
        );
      }, intervalMs);
    },
    stop() {
      stopTimer();
      const onPrimary = summary(primarySeries);
      const onReplica = summary(replicaSeries);
      return {
        primaryMean: onPrimary.mean,
        primaryMax: onPrimary.max,
        replicaMean: onReplica.mean,
        replicaMax: onReplica.max,
      };
    },
    async close() {
      stopTimer();
      await Promise.all([primary.end(), replica.end()]);
    },
  };
}
