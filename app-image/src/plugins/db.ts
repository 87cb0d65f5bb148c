import fp from "fastify-plugin";
import { Database } from "../database";

declare module "fastify" {
  interface FastifyInstance {
    db: Database;
  }
}

export interface DbPluginOptions {
  readonly primaryUrl: string;
  readonly replicaUrls: readonly string[];
  readonly poolMax: number;
  readonly caCert: string | undefined;
}

/** The PostgreSQL pools (primary and one per read replica), closed when the app closes. */
export const dbPlugin = fp<DbPluginOptions>(
  async (app, options) => {
    const database = new Database({ ...options, log: app.log });
    app.decorate("db", database);
    app.addHook("onClose", async () => database.close());
  },
  { name: "db", fastify: "5.x" },
);
