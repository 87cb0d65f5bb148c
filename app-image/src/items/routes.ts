import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { notFound, preconditionFailed } from "../errors";
import type { ItemsRepository, StoredItem } from "./repository";
import { entityTag, pageBody, parseIfMatch, parseItemId, parseItemInput, parsePageRequest } from "./schema";

export interface ItemRoutesOptions {
  readonly repository: ItemsRepository;
}

type IdParams = { Params: { id: string } };

// Bodies are JSON built by PostgreSQL (or cached as such); as a Buffer with its own media type
// Fastify sends them as they are, without serialising or adding a charset.
const JSON_MEDIA_TYPE = "application/json";

function sendItem(reply: FastifyReply, item: StoredItem, status = 200): FastifyReply {
  return reply.code(status).header("etag", entityTag(item)).type(JSON_MEDIA_TYPE).send(item.json);
}

const noSuchItem = (id: string) => notFound(`No item with id ${id}`);

/** The `/v1/items` resource: validation here, storage behind the repository interface. */
export const itemRoutes: FastifyPluginAsync<ItemRoutesOptions> = async (app, { repository }) => {
  app.post("/v1/items", async (request, reply) => {
    const item = await repository.create(parseItemInput(request.body));
    return sendItem(reply.header("location", `/v1/items/${item.id}`), item, 201);
  });

  app.get("/v1/items", async (request, reply) => {
    const page = await repository.list(parsePageRequest(request.query));
    return reply.type(JSON_MEDIA_TYPE).send(pageBody(page));
  });

  app.get<IdParams>("/v1/items/:id", async (request, reply) => {
    const id = parseItemId(request.params.id);
    const item = await repository.get(id);
    if (!item) throw noSuchItem(id);
    return sendItem(reply, item);
  });

  app.put<IdParams>("/v1/items/:id", async (request, reply) => {
    const id = parseItemId(request.params.id);
    const expectedVersion = parseIfMatch(request.headers["if-match"]);
    const input = parseItemInput(request.body);
    const result = await repository.update(id, input, expectedVersion);
    switch (result.outcome) {
      case "updated":
        return sendItem(reply, result.item);
      case "not-found":
        throw noSuchItem(id);
      case "version-mismatch":
        throw preconditionFailed(
          `If-Match requires version ${String(expectedVersion)}; the current version is ${result.currentVersion}`,
        );
    }
  });

  app.delete<IdParams>("/v1/items/:id", async (request, reply) => {
    const id = parseItemId(request.params.id);
    if (!(await repository.delete(id))) throw noSuchItem(id);
    return reply.code(204).send();
  });
};
