import type { ItemCache } from "../cache";
import type { CreatedItem, ItemsRepository, Page, StoredItem, UpdateResult } from "./repository";
import type { ItemInput, PageRequest } from "./schema";

/**
 * Cache-aside reads by id in front of another repository. The cache is written only after the
 * wrapped repository committed, and is awaited, so no read after an acknowledged write can find
 * the version it replaced.
 */
export class CachedItemsRepository implements ItemsRepository {
  constructor(
    private readonly inner: ItemsRepository,
    private readonly cache: ItemCache,
  ) {}

  create(input: ItemInput): Promise<CreatedItem> {
    return this.inner.create(input);
  }

  async get(id: string): Promise<StoredItem | undefined> {
    const cached = await this.cache.lookup(id);
    if (cached.kind === "hit") return cached.item;
    // Ids are never reused, so a tombstone is a definitive answer.
    if (cached.kind === "deleted") return undefined;
    // A real miss means no update or delete of this id is recent enough for a lagging replica to
    // miss it; with Redis unavailable nothing says so, and only the primary is safe.
    const item = await this.inner.get(id, cached.kind === "miss" ? "fresh-replica" : "primary");
    if (item && cached.kind === "miss") this.cache.fill(id, item);
    return item;
  }

  async update(id: string, input: ItemInput, expectedVersion: number | undefined): Promise<UpdateResult> {
    const result = await this.inner.update(id, input, expectedVersion);
    if (result.outcome === "updated") await this.cache.store(id, result.item);
    return result;
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.inner.delete(id);
    if (deleted) await this.cache.markDeleted(id);
    return deleted;
  }

  list(page: PageRequest): Promise<Page> {
    return this.inner.list(page);
  }
}
