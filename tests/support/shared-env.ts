// One PostgreSQL pair and one password-protected Redis for a whole test (or benchmark) run, started
// on first use: initdb and a base backup take seconds, so test files share them.
import { PostgresPair, startPostgresPair } from "../../local/postgres";
import { RedisServer, startRedis } from "../../local/redis";

export interface SharedEnvironment {
  readonly postgres: PostgresPair;
  readonly redis: RedisServer;
  /** Variables that point an API at the shared primary, replica and cache. */
  readonly apiEnv: Readonly<Record<string, string>>;
}

export const SHARED_REDIS_PASSWORD = "test-redis-secret-7f3a";

let shared: Promise<SharedEnvironment> | undefined;

async function startSharedEnvironment(): Promise<SharedEnvironment> {
  const [postgresStart, redisStart] = await Promise.allSettled([
    startPostgresPair(),
    startRedis({ password: SHARED_REDIS_PASSWORD }),
  ]);
  if (postgresStart.status === "rejected" || redisStart.status === "rejected") {
    if (postgresStart.status === "fulfilled") await postgresStart.value.stop();
    if (redisStart.status === "fulfilled") await redisStart.value.stop();
    throw postgresStart.status === "rejected"
      ? postgresStart.reason
      : (redisStart as PromiseRejectedResult).reason;
  }
  const postgres = postgresStart.value;
  const redis = redisStart.value;
  return {
    postgres,
    redis,
    apiEnv: {
      DATABASE_URL: postgres.primaryUrl,
      DATABASE_REPLICA_URL: postgres.replicaUrl,
      REDIS_URL: redis.url,
      LOG_LEVEL: "warn",
    },
  };
}

export function sharedEnvironment(): Promise<SharedEnvironment> {
  shared ??= startSharedEnvironment();
  return shared;
}

export async function stopSharedEnvironment(): Promise<void> {
  if (shared === undefined) return;
  const environment = shared;
  shared = undefined;
  const { postgres, redis } = await environment;
  await Promise.all([postgres.stop(), redis.stop()]);
}
