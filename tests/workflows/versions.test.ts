// One Node major, the one .nvmrc names, wherever the project runs or is typed: the image's base
// images, `engines` and @types/node of each package, and every CI job (hardening.test.ts checks
// that each setup-node reads .nvmrc). And Dependabot watches every place a version is pinned.
import { strict as assert } from "node:assert";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";

import { parse } from "yaml";

import { REPO_ROOT, node, nodes } from "./workflows";

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), "utf8");

const nodeMajor = read(".nvmrc").trim();

/** Folders (relative, "/" for the root) holding a package.json, outside node_modules. */
function packageFolders(dir = ""): string[] {
  const entries = readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true });
  const here = entries.some((entry) => entry.name === "package.json") ? [`/${dir}`] : [];
  return here.concat(
    entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith(".") && entry.name !== "node_modules")
      .flatMap((entry) => packageFolders(dir === "" ? entry.name : `${dir}/${entry.name}`)),
  );
}

describe("versions", () => {
  it(".nvmrc names one Node major", () => {
    assert.match(nodeMajor, /^\d+$/);
  });

  it("every FROM of app-image/Dockerfile is that Node major", () => {
    const bases = [...read("app-image/Dockerfile").matchAll(/^FROM\s+(\S+)/gm)].map(
      (match) => match[1] ?? "",
    );
    assert.ok(bases.length >= 2, bases.join(", "));
    for (const base of bases) {
      const major = /^node:(\d+)-/.exec(base)?.[1] ?? /^gcr\.io\/distroless\/nodejs(\d+)-/.exec(base)?.[1];
      assert.equal(major, nodeMajor, base);
    }
  });

  for (const file of ["package.json", "app-image/package.json"]) {
    it(`${file}: engines and @types/node are that Node major`, () => {
      const manifest = JSON.parse(read(file)) as {
        engines: { node: string };
        devDependencies: Record<string, string>;
      };
      assert.equal(manifest.engines.node, `${nodeMajor}.x`);
      assert.match(manifest.devDependencies["@types/node"] ?? "", new RegExp(`^\\^${nodeMajor}\\.`));
    });
  }

  describe("Dependabot", () => {
    const updates = nodes(node(parse(read(".github/dependabot.yml"))).updates);
    const folders = (ecosystem: string) =>
      updates
        .filter((update) => update["package-ecosystem"] === ecosystem)
        .flatMap((update): unknown[] =>
          Array.isArray(update.directories) ? (update.directories as unknown[]) : [update.directory],
        );

    it("updates npm in every package.json", () => {
      assert.deepEqual(folders("npm").sort(), packageFolders().sort());
    });

    it("updates the GitHub Actions and the Dockerfile's base images", () => {
      assert.deepEqual(folders("github-actions"), ["/"]);
      assert.deepEqual(folders("docker"), ["/app-image"]);
    });
  });
});
