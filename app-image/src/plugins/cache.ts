import fp from "fastify-plugin";
import { RedisItemCache, type ItemCache } from "../cache";
import { describeEndpoint } from "../logging";

declare module "fastify" {
  interface FastifyInstance {
    /** Null when no REDIS_URL is configured. */
    cache: ItemCache | null;
  }
}

export interface CachePluginOptions {
  readonly url: string | undefined;
  readonly caCert: string | undefined;
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
}

/** The Redis cache; optional, connected in the background, closed when the app closes. */
export const cachePlugin = fp<CachePluginOptions>(
  async (app, { url, ...options }) => {
    if (!url) {
      app.log.info("no REDIS_URL: running without a cache");
      app.decorate("cache", null);
      return;
    }
    const cache = new RedisItemCache({ ...options, url, log: app.log, metrics: app.metrics });
    app.log.info({ cache: describeEndpoint(url), tls: url.startsWith("rediss:") }, "cache: Redis");
    cache.connect();
    app.decorate("cache", cache);
    app.addHook("onClose", async () => cache.close());
  },
  { name: "cache", dependencies: ["metrics"], fastify: "5.x" },
);
