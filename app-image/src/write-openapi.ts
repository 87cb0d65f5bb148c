// `npm run openapi`: writes openapi.json (committed; tests/api/openapi.test.ts fails when it is stale).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApiDocument, OPENAPI_FILE } from "./openapi";

openApiDocument()
  .then((document) => {
    writeFileSync(join(__dirname, "..", OPENAPI_FILE), `${JSON.stringify(document, null, 2)}\n`);
  })
  .catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
