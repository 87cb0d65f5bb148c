// app-image/Dockerfile replayed stage by stage on the host (no Docker engine here): the build must
// work as written, and the final stage must hold exactly what the API needs to serve.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { APP_DIR, ApiProcess, startApi } from "../../local/api";
import { ReplayedImage, replayDockerfile } from "../support/dockerfile";
import { ItemsClient, uniqueName } from "../support/items";
import { useSharedEnvironment } from "../support/mocha";
import { removeTempDir, trackTempDir } from "../../local/processes";

const environment = useSharedEnvironment();

/** Every node_modules folder in the image, not descending into node_modules themselves. */
function nodeModulesFolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      entry.name === "node_modules" ? [join(dir, entry.name)] : nodeModulesFolders(join(dir, entry.name)),
    );
}

describe("app-image/Dockerfile (replayed without Docker)", function () {
  this.timeout(300_000);
  let workDir: string;
  let image: ReplayedImage;
  let api: ApiProcess | undefined;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), "docker-replay-"));
    trackTempDir(workDir);
    image = await replayDockerfile(join(APP_DIR, "Dockerfile"), APP_DIR, workDir);
  });

  after(async () => {
    await api?.stop();
    if (workDir !== undefined) removeTempDir(workDir);
  });

  it("runs the final stage as a non-root user", () => {
    const user = image.user ?? "root";
    const [name, group] = user.split(":");
    assert.ok(!["root", "0"].includes(name), `USER ${user}`);
    assert.ok(group === undefined || !["root", "0"].includes(group), `USER ${user}`);
  });

  it("exposes 8080 and sets NODE_ENV=production", () => {
    assert.ok(image.exposed.includes("8080"), `EXPOSE ${image.exposed.join(" ")}`);
    assert.equal(image.env.NODE_ENV, "production");
  });

  it("ships the bundled server alone: no node_modules, the dependencies are inside the bundle", () => {
    assert.deepEqual(nodeModulesFolders(image.root), [], "the final stage has a node_modules");
    const app = image.hostPath(image.workdir);
    assert.deepEqual(readdirSync(app).sort(), ["dist"]);
    assert.deepEqual(readdirSync(join(app, "dist")).sort(), ["main.js", "server.js"]);
  });

  it("starts node directly, not through npm", () => {
    assert.ok(image.command.length > 0, "the final stage has a CMD or ENTRYPOINT");
    for (const word of image.command) {
      assert.ok(
        !/(^|[\s/])(npm|npx|yarn|pnpm)(\s|$)/.test(word),
        `the command runs a package manager: ${word}`,
      );
    }
  });

  it("serves /healthz, /readyz and items when its command runs against PostgreSQL", async () => {
    const { postgres } = await environment();
    const [program, ...args] = image.command;
    assert.equal(
      basename(program),
      "node",
      `exec-form node command expected, got ${image.command.join(" ")}`,
    );
    api = await startApi(
      { ...image.env, PATH: process.env.PATH, NODE_PATH: undefined, DATABASE_URL: postgres.primaryUrl },
      {
        waitReady: true,
        command: {
          cwd: image.hostPath(image.workdir),
          file: process.execPath,
          args: args.map((arg) => (arg.startsWith("/") ? image.hostPath(arg) : arg)),
        },
      },
    );
    const client = new ItemsClient(api.baseUrl);
    const item = await client.create(uniqueName("docker"), { from: "replayed image" });
    assert.deepEqual(await client.fetchItem(item.id), item);
  });
});
