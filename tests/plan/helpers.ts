// Shared by the plan tool's tests: memoized plan runs (each is a child process compiling the program)
// and a runner for the CLI.
import { spawn } from "node:child_process";
import * as path from "node:path";

import Ajv2020 from "ajv/dist/2020";

import planSchema from "../../plan/plan.schema.json";
import { runPlan } from "../../plan/run";
import type { PlanDocument } from "../../plan/types";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const FIXTURE_ROOT = path.join(REPO_ROOT, "plan", "testdata", "fixture-program");
const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const CLI = path.join(REPO_ROOT, "plan", "cli.ts");

/** Generous: a plan takes seconds, but the machine may be busy with other test suites. */
export const PLAN_TEST_TIMEOUT_MS = 240_000;

const plans = new Map<string, Promise<PlanDocument>>();

/** One plan per (root, stack, overrides) for the whole test run. */
export function planOf(
  stack: string,
  overrides: Record<string, string> = {},
  root = REPO_ROOT,
): Promise<PlanDocument> {
  const key = JSON.stringify([root, stack, overrides]);
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = runPlan({ stack, overrides, root });
    plans.set(key, plan);
  }
  return plan;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run plan -- <args>` (the CLI under tsx) in `cwd`, killed if it outlives the test budget. */
export function runCli(args: string[], cwd = REPO_ROOT): Promise<CliResult> {
  const child = spawn(TSX, [CLI, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: PLAN_TEST_TIMEOUT_MS,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addSchema(planSchema);
const schemaId = (planSchema as { $id: string }).$id;

/** The errors of `document` against a definition of plan/plan.schema.json ("plan" or "diff"); [] when valid. */
export function schemaErrors(definition: "plan" | "diff", document: unknown): string[] {
  const validate = ajv.getSchema(`${schemaId}#/$defs/${definition}`);
  if (validate === undefined) throw new Error(`plan.schema.json has no $defs/${definition}`);
  return validate(document)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
}
