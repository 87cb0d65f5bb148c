// Runs one offline plan in a child process (plan/worker.ts under tsx) and returns its document.
import { spawn } from "node:child_process";
import * as path from "node:path";

import { EXIT_BAD_INPUT, EXIT_PROGRAM_FAILED, PLAN_ERROR_PREFIX, PlanError } from "./errors";
import type { PlanDocument } from "./types";

export { PlanError } from "./errors";

/** This repository; it holds the tsx binary and the worker whatever program `root` points at. */
const TOOL_ROOT = path.resolve(__dirname, "..");
const TSX = path.join(TOOL_ROOT, "node_modules", ".bin", "tsx");
const WORKER = path.join(__dirname, "worker.ts");
const DEFAULT_TIMEOUT_MS = 60_000;
const STARTUP_ALLOWANCE_MS = 60_000;

export interface RunPlanOptions {
  stack: string;
  /** `--config key=value` pairs: keys as in the stack file, a dotted key sets a field of a structured value. */
  overrides?: Record<string, string>;
  /** Directory holding Pulumi.yaml and the program; default this repository. */
  root?: string;
  /** A registration still pending after this long fails the plan; default 60 s. */
  timeoutMs?: number;
  /** Receives the program's own output and warnings (stderr of the run); default: dropped. */
  onLog?: (text: string) => void;
}

export async function runPlan(opts: RunPlanOptions): Promise<PlanDocument> {
  const args = [
    WORKER,
    path.resolve(opts.root ?? TOOL_ROOT),
    opts.stack,
    JSON.stringify(opts.overrides ?? {}),
    String(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
  ];
  // The worker times itself out; the spawn timeout only guards against a worker that cannot start.
  const timeout = (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) + STARTUP_ALLOWANCE_MS;
  const child = spawn(TSX, args, { cwd: opts.root ?? TOOL_ROOT, stdio: ["ignore", "pipe", "pipe"], timeout });
  const stdout: Buffer[] = [];
  const stderrLines: string[] = [];
  let partialLine = "";
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partialLine + chunk).split("\n");
    partialLine = lines.pop() ?? "";
    stderrLines.push(...lines);
    const log = lines.filter((line) => !line.startsWith(PLAN_ERROR_PREFIX));
    if (log.length > 0) opts.onLog?.(`${log.join("\n")}\n`);
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (exitCode === 0) return JSON.parse(Buffer.concat(stdout).toString("utf8")) as PlanDocument;

  const lines = [...stderrLines, partialLine].filter((line) => line.trim() !== "");
  const reported = lines.filter((line) => line.startsWith(PLAN_ERROR_PREFIX)).at(-1);
  const message =
    reported?.slice(PLAN_ERROR_PREFIX.length).trim() ?? lines.at(-1) ?? `plan worker exited with ${exitCode}`;
  throw new PlanError(exitCode === EXIT_BAD_INPUT ? EXIT_BAD_INPUT : EXIT_PROGRAM_FAILED, message);
}
