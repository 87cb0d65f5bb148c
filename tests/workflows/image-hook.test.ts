// The hook behind ci.yml's image job: with API_IMAGE set, local/api.ts runs the API as
// `docker run` of that image, handing it exactly the variables the test sets. A stand-in `docker`
// on PATH records its arguments and the values it received, and exits with a known code.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

import { REPO_ROOT } from "./workflows";

const FAKE_DOCKER = `#!/bin/sh
printf '%s\\n' "$@" > "$RECORD_DIR/args"
printf '%s|%s|%s\\n' "$DATABASE_URL" "$TRACE_EXPORTER" "$PORT" > "$RECORD_DIR/values"
exit 7
`;

describe("local/api.ts: API_IMAGE runs the API as a container", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "api-image-hook-"));
    writeFileSync(path.join(dir, "docker"), FAKE_DOCKER);
    chmodSync(path.join(dir, "docker"), 0o755);
    writeFileSync(
      path.join(dir, "run.ts"),
      `import { runApiUntilExit } from ${JSON.stringify(path.join(REPO_ROOT, "local", "api"))};
runApiUntilExit({ DATABASE_URL: "postgres://db", TRACE_EXPORTER: "otlp", LOG_LEVEL: undefined }).then(
  (result) => console.log(JSON.stringify({ code: result.code })),
);
`,
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("docker run --rm --network=host, -e for each variable the test sets, the image; its exit code", async () => {
    const { stdout } = await promisify(execFile)(
      path.join(REPO_ROOT, "node_modules", ".bin", "tsx"),
      [path.join(dir, "run.ts")],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          PATH: `${dir}${path.delimiter}${process.env.PATH ?? ""}`,
          API_IMAGE: "items-api:ci",
          RECORD_DIR: dir,
          PORT: "1234", // of the test run: must not reach the container
        },
      },
    );
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}"), { code: 7 });
    assert.deepEqual(readFileSync(path.join(dir, "args"), "utf8").trim().split("\n"), [
      "run",
      "--rm",
      "--network=host",
      "-e",
      "DATABASE_URL",
      "-e",
      "TRACE_EXPORTER",
      "items-api:ci",
    ]);
    // docker's `-e NAME` takes the value from its own environment: the launcher sets exactly these.
    assert.equal(readFileSync(path.join(dir, "values"), "utf8").trim(), "postgres://db|otlp|");
  });
});
