// README.md is what a newcomer runs first; these checks keep it in step with the code it describes.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

const readme = read("README.md");

/** The two commands of the first fenced block: the main job, then all tests. */
function readmeCommands(): [string, string] {
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block?.[1], "README.md must start with a ```sh block");
  const lines = block[1].split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 2, `expected two commands, found:\n${lines.join("\n")}`);
  return [lines[0] ?? "", lines[1] ?? ""];
}

describe("README.md", () => {
  it("opens with the main job and the test command, before any other section", () => {
    const firstFence = readme.indexOf("```sh");
    const firstSection = readme.indexOf("\n## ");
    assert.ok(firstFence >= 0 && firstFence < firstSection, "the commands come before the first section");
    const [mainJob, tests] = readmeCommands();
    assert.match(mainJob, /npm run plan -- --stack \w+/);
    assert.match(mainJob, /npm run api$/);
    assert.match(tests, /npm test$/);
  });

  it("gives the exact command that .ci/run runs", () => {
    const ciCommands = read(".ci/run")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("#") && !/^(set|cd) /.test(line));
    assert.deepEqual(ciCommands, [readmeCommands()[1]]);
  });

  it("names only npm scripts that exist", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: object }).scripts);
    const named = [...readme.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((match) => match[1]);
    assert.ok(named.length > 0);
    for (const script of named) assert.ok(scripts.includes(script ?? ""), `README names 'npm run ${script}'`);
  });

  it("draws every component that index.ts composes", () => {
    const diagram = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const imports = [...read("index.ts").matchAll(/import \{ ([^}]+) \} from "\.\/components\//g)];
    const composed = imports
      .flatMap((match) => (match[1] ?? "").split(",").map((name) => name.trim()))
      .filter((name) => /^[A-Z]/.test(name));
    assert.ok(composed.length >= 6, `components imported by index.ts: ${composed.join(", ")}`);
    for (const component of composed) assert.match(diagram, new RegExp(`\\b${component}\\b`), component);
  });
});
