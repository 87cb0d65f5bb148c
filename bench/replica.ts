// One replica as a deployment runs it, for the bench and the profiler: the built API and the
// environment components/workload/api-environment gives a replica of the stack; and the bench's
// floor server (bench/floor-server.ts), built the same way; and the bare baseline server.
import { execFileSync } from "node:child_process";
import { bundle } from "../app-image/src/bundle";
import { join } from "node:path";
import { apiEnvironment } from "../components/workload/api-environment";
import { trafficShares, type StackConfig } from "../config";
import type { PostgresPair } from "../local/postgres";
import type { RedisServer } from "../local/redis";
import { REPO_ROOT } from "../lib/stack-files";

export function buildApi(log: (line: string) => void): void {
  log("building the API (npm --prefix app-image run build)");
  execFileSync("npm", ["--prefix", join(REPO_ROOT, "app-image"), "run", "build"], {
    stdio: ["ignore", 2, 2],
  });
}

/** The baseline: the cheapest node:http server, run with plain node (bench/bare-server.mjs). */
export const BARE_SERVER_SCRIPT = join(REPO_ROOT, "bench", "bare-server.mjs");

/** Bundles bench/floor-server.ts into `dir` with the server's own options; returns the script's path. */
export async function buildFloorServer(dir: string): Promise<string> {
  const script = join(dir, "floor-server.js");
  await bundle(join(REPO_ROOT, "bench", "floor-server.ts"), script);
  return script;
}

/** The stack's replica environment (PORT aside: the harness picks a free one) against local servers. */
export function replicaEnv(stack: StackConfig, pg: PostgresPair, redis: RedisServer): Record<string, string> {
  const { plain } = apiEnvironment({
    // Under `both`, the platform taking the larger share of traffic.
    platform: [...trafficShares(stack)].sort((a, b) => b.weight - a.weight)[0].platform,
    project: stack.gcp.project,
    app: stack.app,
    secrets: { databaseUrl: "", databaseReplicaUrls: "", databaseCaCert: "", redisUrl: "", redisCaCert: "" },
  });
  return {
    ...Object.fromEntries(
      plain.filter(({ name }) => name !== "PORT").map(({ name, value }) => [name, value]),
    ),
    NODE_ENV: "production", // set by app-image/Dockerfile
    DATABASE_URL: pg.primaryUrl,
    DATABASE_REPLICA_URLS: pg.replicaUrl,
    REDIS_URL: redis.url,
  };
}
