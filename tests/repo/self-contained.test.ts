// A clone of this repository is all a reader has: nothing in it may point at files outside it
// (a sibling folder of one machine, a contract page that only its authors had) or carry an
// absolute path of the machine it was written on.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");

/** Every tracked file and every untracked one git does not ignore, as text; binaries are skipped. */
function repositoryTexts(): { file: string; text: string }[] {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter((file) => file !== "" && !file.endsWith("package-lock.json"));
  return files.flatMap((file) => {
    let buffer: Buffer;
    try {
      buffer = readFileSync(join(root, file));
    } catch {
      return []; // deleted in the working tree
    }
    return buffer.includes(0) ? [] : [{ file, text: buffer.toString("utf8") }];
  });
}

const FORBIDDEN: readonly { what: string; pattern: RegExp }[] = [
  { what: "path into a sibling folder", pattern: /\.\.\/shared\b/ },
  {
    what: "reference to a page kept outside the repository",
    pattern: /\b(?:shared\/)?(?:API|PLAN-FORMAT|PULUMI-NOTES|STYLE|CONVENTIONS)\.md\b/,
  },
  {
    what: "absolute path of a developer machine",
    pattern: /(?:^|[\s"'`(=])\/(?:work|root|home\/[a-z_][\w-]*|Users\/\w+)\/[\w.-]/m,
  },
];

describe("the repository is self-contained", () => {
  const texts = repositoryTexts();

  it("reads a meaningful set of files (so the checks below cannot pass on nothing)", () => {
    assert.ok(texts.some(({ file }) => file === "index.ts"));
    assert.ok(texts.length > 50, `only ${texts.length} files read`);
  });

  for (const { what, pattern } of FORBIDDEN) {
    it(`holds no ${what}`, () => {
      const hits = texts.flatMap(({ file, text }) =>
        text
          .split("\n")
          .flatMap((line, index) => (pattern.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [])),
      );
      assert.deepEqual(hits, [], `found ${what}:\n${hits.join("\n")}`);
    });
  }
});
