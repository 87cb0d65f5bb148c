// Puts the data set in place through the API itself (no knowledge of its schema): POSTs the items,
// then reads the cache-hit pool once so that Redis holds it.

/** Runs `task` for 0..count-1 with at most `concurrency` calls in flight. */
async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

async function expectStatus(response: Response, expected: number, what: string): Promise<string> {
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`${what}: expected ${expected}, got ${response.status}: ${text.slice(0, 300)}`);
  }
  return text;
}

/** Creates `count` items and returns their ids in creation order. */
export async function seedItems(baseUrl: string, count: number): Promise<string[]> {
  return inParallel(count, 32, async (index) => {
    const response = await fetch(`${baseUrl}/v1/items`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: `seed ${index}`,
        data: { sku: `SEED-${index}`, price: index % 5000, stock: 10 },
      }),
    });
    const item = JSON.parse(await expectStatus(response, 201, "seeding POST /v1/items")) as { id?: unknown };
    if (typeof item.id !== "string") throw new Error("seeding: the created item has no string id");
    return item.id;
  });
}

/** Reads every id once (200 expected), so the API caches it. */
export async function readAll(baseUrl: string, ids: readonly string[]): Promise<void> {
  await inParallel(ids.length, 32, async (index) => {
    const response = await fetch(`${baseUrl}/v1/items/${ids[index]}`);
    await expectStatus(response, 200, `warming GET /v1/items/${ids[index]}`);
  });
}
