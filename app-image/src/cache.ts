import type { Counter } from "prom-client";
import { createClient, defineScript, type CommandParser } from "redis";
import { DependencyState } from "./dependency-state";
import type { Item } from "./items/schema";
import type { Logger } from "./logging";
import { withTimeout } from "./timeout";

export type CacheLookup =
  | { readonly kind: "hit"; readonly item: Item }
  | { readonly kind: "deleted" }
  | { readonly kind: "miss" }
  /** Redis failed or is skipped for this id: read the database, and do not fill. */
  | { readonly kind: "unavailable" };

/** Cache of items by id, written only after the database committed. Never throws. */
export interface ItemCache {
  lookup(id: string): Promise<CacheLookup>;
  /** Cache-aside fill after a read; never replaces an entry, so it cannot undo a newer write. */
  fill(item: Item): void;
  /** Write-through after an update; keeps an entry that is newer or a deletion. */
  store(item: Item): Promise<void>;
  /** Tombstone after a delete, so no late fill can bring the item back. */
  markDeleted(id: string): Promise<void>;
}

export interface CacheMetrics {
  readonly hits: Counter;
  readonly misses: Counter;
  readonly errors: Counter;
}

export interface CacheOptions {
  readonly url: string;
  readonly caCert: string | undefined;
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
  readonly metrics: CacheMetrics;
  readonly log: Logger;
}

// Versioned key space, so a rolling deploy that changes the value format cannot misread entries.
const key = (id: string) => `items:v1:${id}`;
const TOMBSTONE = "deleted";
// Values are "<version>:<item JSON>", so the script compares versions without decoding JSON.
const encode = (item: Item) => `${item.version}:${JSON.stringify(item)}`;
const decode = (value: string): Item => JSON.parse(value.slice(value.indexOf(":") + 1)) as Item;

const STORE_IF_NEWER = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `
    local current = redis.call('GET', KEYS[1])
    if current == '${TOMBSTONE}' then return 0 end
    if current then
      local version = tonumber(string.match(current, '^(%d+):'))
      if version and version >= tonumber(ARGV[1]) then return 0 end
    end
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return 1`,
  parseCommand(parser: CommandParser, itemKey: string, version: number, value: string, ttlSeconds: number) {
    parser.pushKey(itemKey);
    parser.push(String(version), value, String(ttlSeconds));
  },
  // The reply (1 stored, 0 kept) is not needed; undefined leaves it untransformed.
  transformReply: undefined as unknown as () => number,
});

/** After a failed command, skip Redis this long: a slow Redis must not slow every request. */
const COOLDOWN_AFTER_FAILURE_MS = 1_000;
const PENDING_REPLAY_INTERVAL_MS = 1_000;

function createCacheClient(options: CacheOptions) {
  return createClient({
    url: options.url,
    // Fail at once while disconnected instead of queueing behind a reconnect.
    disableOfflineQueue: true,
    // Replies are bounded by `command`; node-redis' own per-command timeout would only bound the
    // wait to be written, at the price of an AbortSignal per command (~8% of a replica's CPU in
    // `npm run profile`). The length bound keeps the queue small when the socket stops draining.
    commandsQueueMaxLength: 10_000,
    socket: {
      // Connecting never delays a request (commands fail fast meanwhile), so a TLS handshake may take longer.
      connectTimeout: Math.max(options.timeoutMs, 1_000),
      // Forever, backing off to 5 s: the process must come back to the cache by itself.
      reconnectStrategy: (retries: number) =>
        Math.min(100 * 2 ** retries, 5_000) + Math.floor(Math.random() * 100),
      ...(options.caCert ? { tls: true as const, ca: options.caCert } : {}),
    },
    scripts: { storeIfNewer: STORE_IF_NEWER },
  });
}

type CacheClient = ReturnType<typeof createCacheClient>;

/**
 * Redis as an optional cache. Every failure is swallowed and counted; the state change is logged
 * once. When a write-through or tombstone fails, the id is "pending": this process reads it from
 * the database until the entry is deleted from Redis (replayed when Redis answers again) or until
 * any entry written before the failure has expired anyway.
 */
export class RedisItemCache implements ItemCache {
  private readonly client: CacheClient;
  private readonly state: DependencyState;
  /** id -> time after which no entry older than the failed write can still be in Redis. */
  private readonly pending = new Map<string, number>();
  private readonly replayTimer: NodeJS.Timeout;
  private cooldownUntil = 0;
  private replaying = false;

  constructor(private readonly options: CacheOptions) {
    this.state = new DependencyState("cache", options.log);
    this.client = createCacheClient(options)
      .on("error", (error: unknown) => this.failed(error))
      .on("ready", () => {
        this.cooldownUntil = 0;
        this.state.recovered();
        void this.replayPending();
      });
    this.replayTimer = setInterval(() => void this.replayPending(), PENDING_REPLAY_INTERVAL_MS).unref();
  }

  /** Connects in the background: the API serves from the database until Redis answers. */
  connect(): void {
    this.client.connect().catch((error: unknown) => this.failed(error));
  }

  close(): void {
    clearInterval(this.replayTimer);
    if (this.client.isOpen) this.client.destroy();
  }

  async lookup(id: string): Promise<CacheLookup> {
    if (this.isPending(id)) {
      this.options.metrics.misses.inc();
      return { kind: "unavailable" };
    }
    if (!this.usable()) {
      this.options.metrics.errors.inc();
      return { kind: "unavailable" };
    }
    try {
      const value = await this.command(this.client.get(key(id)));
      this.state.recovered();
      if (value === null) {
        this.options.metrics.misses.inc();
        return { kind: "miss" };
      }
      this.options.metrics.hits.inc();
      return value === TOMBSTONE ? { kind: "deleted" } : { kind: "hit", item: decode(value) };
    } catch (error) {
      this.failed(error);
      return { kind: "unavailable" };
    }
  }

  fill(item: Item): void {
    if (this.isPending(item.id) || !this.usable()) return;
    this.client
      .set(key(item.id), encode(item), {
        condition: "NX",
        expiration: { type: "EX", value: this.options.ttlSeconds },
      })
      .catch((error: unknown) => this.failed(error));
  }

  async store(item: Item): Promise<void> {
    await this.afterWrite(item.id, () =>
      this.client.storeIfNewer(key(item.id), item.version, encode(item), this.options.ttlSeconds),
    );
  }

  async markDeleted(id: string): Promise<void> {
    await this.afterWrite(id, () =>
      this.client.set(key(id), TOMBSTONE, { expiration: { type: "EX", value: this.options.ttlSeconds } }),
    );
  }

  private async afterWrite(id: string, command: () => Promise<unknown>): Promise<void> {
    try {
      if (!this.usable()) throw new Error("cache not connected");
      await this.command(command());
    } catch (error) {
      this.failed(error);
      // Entries are only ever written with this TTL, so none older than this write outlives it.
      this.pending.set(id, Date.now() + this.options.ttlSeconds * 1_000 + this.options.timeoutMs);
    }
  }

  private async replayPending(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    try {
      await this.deletePendingEntries();
    } finally {
      this.replaying = false;
    }
  }

  private async deletePendingEntries(): Promise<void> {
    for (const [id, deadline] of this.pending) {
      if (deadline <= Date.now()) {
        this.pending.delete(id);
        continue;
      }
      if (!this.usable()) return;
      try {
        await this.command(this.client.del(key(id)));
        // A newer failure for the same id set a new deadline and stays pending.
        if (this.pending.get(id) === deadline) this.pending.delete(id);
      } catch (error) {
        this.failed(error);
        return;
      }
    }
  }

  /**
   * Bounds the wait for a reply: node-redis stops timing a command once it is written, so a Redis
   * that accepts commands but answers slowly would otherwise hold every request.
   */
  private command<T>(reply: Promise<T>): Promise<T> {
    return withTimeout(reply, this.options.timeoutMs);
  }

  private isPending(id: string): boolean {
    const deadline = this.pending.get(id);
    return deadline !== undefined && deadline > Date.now();
  }

  private usable(): boolean {
    return this.client.isReady && Date.now() >= this.cooldownUntil;
  }

  private failed(error: unknown): void {
    this.options.metrics.errors.inc();
    this.cooldownUntil = Date.now() + COOLDOWN_AFTER_FAILURE_MS;
    this.state.failed(error, "serving from PostgreSQL");
  }
}
