import { Counter, type Registry } from "prom-client";
import { createHash } from "node:crypto";
import { RedisClient, RESP_TYPES, type RedisArgument } from "@redis/client";
import { Deadlines } from "./deadlines";
import { DependencyState } from "./dependency-state";
import type { StoredItem } from "./items/repository";
import type { Logger } from "./logging";

export type CacheLookup =
  | { readonly kind: "hit"; readonly item: StoredItem }
  | { readonly kind: "deleted" }
  | { readonly kind: "miss" }
  /** Redis failed or is skipped for this id: read the database, and do not fill. */
  | { readonly kind: "unavailable" };

/** Cache of items by id, written only after the database committed. Never throws. */
export interface ItemCache {
  lookup(id: string): Promise<CacheLookup>;
  /** Cache-aside fill after a read; never replaces an entry, so it cannot undo a newer write. */
  fill(id: string, item: StoredItem): void;
  /** Write-through after an update; keeps an entry that is newer or a deletion. */
  store(id: string, item: StoredItem): Promise<void>;
  /** Tombstone after a delete, so no late fill can bring the item back. */
  markDeleted(id: string): Promise<void>;
}

export interface CacheMetrics {
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter;
  readonly cacheErrors: Counter;
}

/** The cache's counters, on `registers` (none: counted but never exported). */
export function cacheMetrics(registers: Registry[]): CacheMetrics {
  return {
    cacheHits: new Counter({
      name: "cache_hits_total",
      help: "Item lookups answered by the cache",
      registers,
    }),
    cacheMisses: new Counter({
      name: "cache_misses_total",
      help: "Item lookups the cache could not answer",
      registers,
    }),
    cacheErrors: new Counter({
      name: "cache_errors_total",
      help: "Failed or skipped cache operations",
      registers,
    }),
  };
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
const TOMBSTONE_BYTES = Buffer.from(TOMBSTONE);
// Values are "<version>:<item JSON>", so the script compares versions without decoding JSON, and a
// hit sends the JSON bytes as they came from Redis.
const encode = (item: StoredItem) => Buffer.concat([Buffer.from(`${item.version}:`), item.json]);
const VERSION_SEPARATOR = ":".charCodeAt(0);

function decode(value: Buffer): CacheLookup {
  if (value.equals(TOMBSTONE_BYTES)) return { kind: "deleted" };
  const separator = value.indexOf(VERSION_SEPARATOR);
  const version = Number(value.toString("latin1", 0, separator));
  return { kind: "hit", item: { version, json: value.subarray(separator + 1) } };
}

interface LuaScript {
  readonly source: string;
  readonly sha1: string;
  readonly numberOfKeys: string;
}

/** Run by SHA (EVALSHA) and sent whole (EVAL) only when Redis does not know it yet. */
function luaScript(source: string, numberOfKeys: number): LuaScript {
  return {
    source,
    sha1: createHash("sha1").update(source).digest("hex"),
    numberOfKeys: String(numberOfKeys),
  };
}

// Reply 1 stored, 0 kept.
const STORE_IF_NEWER = luaScript(
  `
    local current = redis.call('GET', KEYS[1])
    if current == '${TOMBSTONE}' then return 0 end
    if current then
      local version = tonumber(string.match(current, '^(%d+):'))
      if version and version >= tonumber(ARGV[1]) then return 0 end
    end
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    return 1`,
  1,
);

/** After a failed command, skip Redis this long: a slow Redis must not slow every request. */
const COOLDOWN_AFTER_FAILURE_MS = 1_000;
const PENDING_REPLAY_INTERVAL_MS = 1_000;
const DEADLINE_RESOLUTION_MS = 25;

/**
 * node-redis' base client: commands go through `sendCommand`. `createClient` would first build a
 * class with a method for each of Redis' ~500 commands (and its MULTI twin), about 90 ms of every
 * start-up (`npm run bench -- --startup`), for the five commands used here.
 */
function createCacheClient(options: CacheOptions) {
  return new RedisClient({
    url: options.url,
    // Fail at once while disconnected instead of queueing behind a reconnect.
    disableOfflineQueue: true,
    // Replies are bounded by `command`; node-redis' own per-command timeout (5 s unless 0) would
    // only bound the wait to be written, at the price of an AbortSignal per command (~4% of a
    // replica's CPU in `npm run profile`). The length bound keeps the queue small when the socket
    // stops draining.
    commandOptions: { timeout: 0 },
    commandsQueueMaxLength: 10_000,
    socket: {
      // Connecting never delays a request (commands fail fast meanwhile), so a TLS handshake may take longer.
      connectTimeout: Math.max(options.timeoutMs, 1_000),
      // Forever, backing off to 5 s: the process must come back to the cache by itself.
      reconnectStrategy: (retries: number) =>
        Math.min(100 * 2 ** retries, 5_000) + Math.floor(Math.random() * 100),
      ...(options.caCert ? { tls: true as const, ca: options.caCert } : {}),
    },
  });
}

type CacheClient = ReturnType<typeof createCacheClient>;

/** Bulk replies as Buffers: a hit is sent without decoding it. */
const BUFFER_REPLIES = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

/**
 * Redis as an optional cache. Every failure is swallowed and counted; the state change is logged
 * once. When a write-through or tombstone fails, the id is "pending": this process reads it from
 * the database until the entry is deleted from Redis (replayed when Redis answers again) or until
 * any entry written before the failure has expired anyway.
 */
export class RedisItemCache implements ItemCache {
  private readonly client: CacheClient;
  private readonly deadlines = new Deadlines(DEADLINE_RESOLUTION_MS);
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
      this.options.metrics.cacheMisses.inc();
      return { kind: "unavailable" };
    }
    if (!this.usable()) {
      this.options.metrics.cacheErrors.inc();
      return { kind: "unavailable" };
    }
    try {
      const value = await this.command(
        this.client.sendCommand<Buffer | null>(["GET", key(id)], BUFFER_REPLIES),
      );
      this.state.recovered();
      if (value === null) {
        this.options.metrics.cacheMisses.inc();
        return { kind: "miss" };
      }
      this.options.metrics.cacheHits.inc();
      return decode(value);
    } catch (error) {
      this.failed(error);
      return { kind: "unavailable" };
    }
  }

  fill(id: string, item: StoredItem): void {
    if (this.isPending(id) || !this.usable()) return;
    this.client
      .sendCommand(["SET", key(id), encode(item), "NX", "EX", String(this.options.ttlSeconds)])
      .catch((error: unknown) => this.failed(error));
  }

  async store(id: string, item: StoredItem): Promise<void> {
    await this.afterWrite(id, () =>
      this.runScript(STORE_IF_NEWER, [
        key(id),
        String(item.version),
        encode(item),
        String(this.options.ttlSeconds),
      ]),
    );
  }

  async markDeleted(id: string): Promise<void> {
    await this.afterWrite(id, () =>
      this.client.sendCommand(["SET", key(id), TOMBSTONE, "EX", String(this.options.ttlSeconds)]),
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
        await this.command(this.client.sendCommand(["DEL", key(id)]));
        // A newer failure for the same id set a new deadline and stays pending.
        if (this.pending.get(id) === deadline) this.pending.delete(id);
      } catch (error) {
        this.failed(error);
        return;
      }
    }
  }

  /** EVALSHA, then EVAL once when Redis has not cached the script (a restart, a new primary). */
  private async runScript(script: LuaScript, keysThenArgs: RedisArgument[]): Promise<unknown> {
    try {
      return await this.client.sendCommand(["EVALSHA", script.sha1, script.numberOfKeys, ...keysThenArgs]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return this.client.sendCommand(["EVAL", script.source, script.numberOfKeys, ...keysThenArgs]);
    }
  }

  /**
   * Bounds the wait for a reply: node-redis stops timing a command once it is written, so a Redis
   * that accepts commands but answers slowly would otherwise hold every request.
   */
  private command<T>(reply: Promise<T>): Promise<T> {
    return this.deadlines.within(reply, this.options.timeoutMs);
  }

  private isPending(id: string): boolean {
    const deadline = this.pending.get(id);
    return deadline !== undefined && deadline > Date.now();
  }

  private usable(): boolean {
    return this.client.isReady && Date.now() >= this.cooldownUntil;
  }

  private failed(error: unknown): void {
    this.options.metrics.cacheErrors.inc();
    this.cooldownUntil = Date.now() + COOLDOWN_AFTER_FAILURE_MS;
    this.state.failed(error, "serving from PostgreSQL");
  }
}
