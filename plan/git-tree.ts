// A copy of the project as it was at a git ref, to plan it next to the working tree.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { EXIT_BAD_INPUT, PlanError } from "./errors";

export interface ExtractedTree {
  /** The project root (the directory holding Pulumi.yaml) inside the copy. */
  root: string;
  remove(): void;
}

function git(cwd: string, args: string[]): { ok: boolean; stdout: Buffer; stderr: string } {
  const result = spawnSync("git", ["-C", cwd, ...args], { maxBuffer: 1 << 30 });
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr.toString("utf8").trim() };
}

/**
 * Extracts `projectRoot` as committed at `ref` into a temporary directory, with the working tree's
 * node_modules linked in (the root's and those of first-level packages such as app-image/).
 */
export function extractTree(projectRoot: string, ref: string): ExtractedTree {
  if (!git(projectRoot, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).ok) {
    throw new PlanError(EXIT_BAD_INPUT, `--against: unknown git ref "${ref}" in ${projectRoot}`);
  }
  // The project may live in a subdirectory of the repository; archive only that subtree.
  const prefix = git(projectRoot, ["rev-parse", "--show-prefix"])
    .stdout.toString("utf8")
    .trim()
    .replace(/\/$/, "");
  const archive = git(projectRoot, ["archive", "--format=tar", prefix === "" ? ref : `${ref}:${prefix}`]);
  if (!archive.ok)
    throw new PlanError(EXIT_BAD_INPUT, `--against: git archive ${ref} failed: ${archive.stderr}`);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), "offline-plan-"));
  const remove = () => fs.rmSync(root, { recursive: true, force: true });
  const untar = spawnSync("tar", ["-x", "-C", root], { input: archive.stdout });
  if (untar.status !== 0) {
    remove();
    throw new Error(`tar -x failed: ${untar.stderr.toString("utf8").trim()}`);
  }
  const packageDirs = ["", ...fs.readdirSync(projectRoot).filter((entry) => entry !== "node_modules")];
  for (const dir of packageDirs) {
    const modules = path.join(projectRoot, dir, "node_modules");
    if (
      fs.existsSync(modules) &&
      fs.existsSync(path.join(root, dir)) &&
      !fs.existsSync(path.join(root, dir, "node_modules"))
    ) {
      fs.symlinkSync(modules, path.join(root, dir, "node_modules"), "dir");
    }
  }
  return { root, remove };
}
