// Reads the workflow files for the workflow tests: each as parsed YAML (jobs, steps, triggers)
// plus its raw text, which keeps what YAML drops (the version comments next to pinned actions).
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

import { parse } from "yaml";

export const REPO_ROOT = path.join(__dirname, "..", "..");
export const WORKFLOWS_DIR = path.join(REPO_ROOT, ".github", "workflows");

export type Node = Record<string, unknown>;

export function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function node(value: unknown): Node {
  return isNode(value) ? value : {};
}

export function nodes(value: unknown): Node[] {
  return Array.isArray(value) ? value.filter(isNode) : [];
}

export interface Workflow {
  readonly file: string;
  readonly text: string;
  readonly on: Node;
  readonly permissions: unknown;
  readonly jobs: Record<string, Node>;
}

function loadWorkflow(file: string): Workflow {
  const text = readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
  const document = node(parse(text));
  const trigger = document.on;
  const on = typeof trigger === "string" ? { [trigger]: null } : node(trigger);
  const jobs = Object.fromEntries(Object.entries(node(document.jobs)).map(([id, job]) => [id, node(job)]));
  return { file, text, on, permissions: document.permissions, jobs };
}

export const workflows: readonly Workflow[] = readdirSync(WORKFLOWS_DIR)
  .filter((file) => /\.ya?ml$/.test(file))
  .sort()
  .map(loadWorkflow);

export function workflow(file: string): Workflow {
  const found = workflows.find((candidate) => candidate.file === file);
  assert.ok(found, `${file} exists`);
  return found;
}

export function steps(job: Node): Node[] {
  return nodes(job.steps);
}

/** The action a step uses without its ref (`pulumi/actions`), or undefined for a `run` step. */
export function actionOf(step: Node): string | undefined {
  return typeof step.uses === "string" ? step.uses.split("@")[0] : undefined;
}

export function stepsUsing(job: Node, action: string): Node[] {
  return steps(job).filter((step) => actionOf(step) === action);
}

/** Every job of every workflow, with where it is. */
export function allJobs(): { file: string; id: string; job: Node }[] {
  return workflows.flatMap(({ file, jobs }) => Object.entries(jobs).map(([id, job]) => ({ file, id, job })));
}

/** Whether a step runs Pulumi against a stack: pulumi/actions with a command, or the CLI in `run`. */
export function runsPulumiOnAStack(step: Node): boolean {
  if (actionOf(step) === "pulumi/actions") return typeof node(step.with).command === "string";
  return (
    typeof step.run === "string" && /(^|[\s;&|(])pulumi\s+(preview|up|refresh|destroy)\b/m.test(step.run)
  );
}

/** Scopes a permissions block grants write on. */
export function writeScopes(permissions: unknown): string[] {
  if (permissions === "write-all") return ["*"];
  return Object.entries(node(permissions))
    .filter(([, level]) => level === "write")
    .map(([scope]) => scope);
}

/** Names of the repository variables (`vars.X`) a text reads. */
export function variablesRead(text: string): string[] {
  return [
    ...new Set([...text.matchAll(/\bvars\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] ?? "")),
  ].sort();
}
