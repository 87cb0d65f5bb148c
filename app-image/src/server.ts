import { flushCompileCache } from "node:module";
import { performance } from "node:perf_hooks";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildApp } from "./app";
import { ConfigError, loadConfig, type Config } from "./config";
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres";
import { createLogger, errorMessage, type Logger } from "./logging";
import { migrate } from "./migrations";
import { startTracing, type Tracing } from "./tracing";

const HOST = "0.0.0.0";
// Kept free at the end of the shutdown grace for the last log lines and the exit.
const EXIT_MARGIN_MS = 500;
// Queued spans get this long on a failed start-up; nothing else waits on them then.
const START_FAILURE_FLUSH_MS = 1_000;
// A synchronous write per log line was the largest single cost of a request in `npm run profile`;
// lines are written in batches instead, and at least this often, so a quiet process still logs at once.
const LOG_BATCH_BYTES = 8 * 1024;
const LOG_FLUSH_INTERVAL_MS = 100;

/** stdout in batches; whatever is buffered is written before the process exits, whatever the reason. */
function batchedStdout(): pino.DestinationStream {
  // periodicFlush writes without fsync; flushSync (fsync included) only once, at exit.
  const destination = pino.destination({
    dest: 1,
    sync: true,
    minLength: LOG_BATCH_BYTES,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  });
  process.on("exit", () => destination.flushSync());
  return destination;
}

/** Milliseconds each start-up step took, logged once the process listens. */
function startupClock() {
  const steps: Record<string, number> = {};
  // performance.now() counts from process start: the first step is node itself plus every require.
  let last = 0;
  return {
    step(name: string): void {
      const now = performance.now();
      steps[name] = Math.round((now - last) * 10) / 10;
      last = now;
    },
    steps: (): Readonly<Record<string, number>> => ({ ...steps, total: Math.round(last * 10) / 10 }),
  };
}

function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`config error: ${error.message}\n`);
    process.exit(1);
  }
}

/**
 * SIGTERM (and SIGINT): readiness turns 503 at once, requests keep being served for the drain delay
 * so the load balancer can notice, then the server closes (in-flight requests finish), pools and
 * cache close, queued spans are exported, and the process exits 0; if that hangs, it exits 1 at the
 * grace deadline.
 */
function shutDownOnSignals(
  app: FastifyInstance,
  config: Config,
  log: Logger,
  embedded: EmbeddedPostgres | undefined,
  tracing: Tracing | undefined,
): void {
  let stopping = false;
  const shutDown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + config.shutdownGraceMs;
    setTimeout(() => {
      log.error(`shutdown did not finish within SHUTDOWN_GRACE_MS (${config.shutdownGraceMs} ms); exiting`);
      process.exit(1);
    }, config.shutdownGraceMs);
    app.startDraining();
    log.info({ signal }, `${signal}: not ready; serving for ${config.shutdownDrainMs} ms more, then closing`);
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
    await app.close();
    await embedded?.stop();
    await tracing?.shutdown(deadline - Date.now() - EXIT_MARGIN_MS);
    log.info("shutdown complete");
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      shutDown(signal).catch((error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
    });
  }
}

async function main(): Promise<void> {
  const clock = startupClock();
  clock.step("moduleLoadMs");
  const config = configOrExit();
  const log = createLogger(config.logLevel, batchedStdout());
  let embedded: EmbeddedPostgres | undefined;
  let app: FastifyInstance | undefined;
  let tracing: Tracing | undefined;
  try {
    tracing = config.tracing && (await startTracing(config.tracing, config.googleCloudProject, log));
    embedded = config.databaseUrl === undefined ? await startEmbeddedPostgres(log) : undefined;
    const databaseUrl = config.databaseUrl ?? embedded?.url ?? "";
    clock.step("configMs");
    // Pools and the cache client connect lazily or in the background: this step is their set-up only.
    app = await buildApp({ ...config, databaseUrl }, { logger: log, tracing });
    await app.ready();
    clock.step("appMs");
    await migrate(app.db.primaryConnections, log);
    clock.step("migrationCheckMs");
    await app.listen({ port: config.port, host: HOST });
    clock.step("listenMs");
    log.info({ startup: clock.steps() }, "listening");
    // Written now rather than at exit, which a killed process never reaches.
    flushCompileCache();
  } catch (error) {
    // Expected start-up failures are one line; anything else keeps its stack.
    if (error instanceof EmbeddedPostgresError) log.fatal(error.message);
    else log.fatal({ err: error }, `start-up failed: ${errorMessage(error)}`);
    await app?.close();
    await embedded?.stop().catch(() => undefined);
    await tracing?.shutdown(START_FAILURE_FLUSH_MS);
    process.exit(1);
  }
  shutDownOnSignals(app, config, log, embedded, tracing);
}

void main();
