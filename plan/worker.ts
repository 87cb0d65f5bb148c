// One offline plan, in its own process (the program module is cached and the mocks are process-wide):
//   tsx plan/worker.ts <root> <stack> <overrides as JSON> <timeout ms>
// Prints the PlanDocument as JSON on stdout and exits 0; on failure the last stderr line is
// `PLAN_ERROR_PREFIX <one-line message>` and the exit code is 2 (bad input or config) or 1.
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { EXIT_BAD_INPUT, EXIT_PROGRAM_FAILED, PLAN_ERROR_PREFIX, PlanError } from "./errors";
import { createMocks } from "./mocks";
import { recordRegistrations } from "./recorder";
import { documentConfig, runtimeConfig, type StackFiles } from "./stack-files";
import { offlineStackFiles, placeholderProjectNote } from "../lib/stack-files";
import { PLAN_NOTICE, SECRET_TEXT, type PlanDocument } from "./types";

/** The program prints through console.log and Pulumi's log; stdout carries only the document. */
const writeDocument = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

function exitCodeOf(error: unknown): PlanError["exitCode"] {
  if (error instanceof PlanError) return error.exitCode;
  // The program's config.ts throws StackConfigError ("<key>: <rule>") before registering anything.
  return error instanceof Error && error.name === "StackConfigError" ? EXIT_BAD_INPUT : EXIT_PROGRAM_FAILED;
}

/** Failures the engine would have reported (duplicate URNs, unanswered invokes); set once mocks are installed. */
let rootCauses: () => string[] = () => [];

function fail(error: unknown): never {
  const exitCode = exitCodeOf(error);
  // A mock failure also rejects every output that depends on it; its own message says more than theirs.
  const causes = exitCode === EXIT_PROGRAM_FAILED ? rootCauses() : [];
  if (causes.length === 0 && exitCode === EXIT_PROGRAM_FAILED && !(error instanceof PlanError)) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  const message =
    causes.length > 0 ? causes.join("; ") : error instanceof Error ? error.message : String(error);
  process.stderr.write(`${PLAN_ERROR_PREFIX} ${message.split("\n")[0]}\n`);
  process.exit(exitCode);
}

function providerInputs(
  config: StackFiles,
  strings: Record<string, string>,
  pkg: string,
): Record<string, unknown> {
  const prefix = `${pkg}:`;
  return Object.fromEntries(
    Object.entries(strings)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [
        key.slice(prefix.length),
        config.secretKeys.includes(key) ? SECRET_TEXT : value,
      ]),
  );
}

async function plan(
  root: string,
  stack: string,
  overrides: Record<string, string>,
  timeoutMs: number,
): Promise<PlanDocument> {
  const { files: config, placeholder } = offlineStackFiles(root, stack, overrides);
  // stderr: the CLI shows it to people, and the JSON document on stdout keeps its schema.
  if (placeholder) process.stderr.write(`${placeholderProjectNote(stack)}\n`);
  const strings = runtimeConfig(config);
  const mocks = createMocks({
    project: strings["gcp:project"] ?? "project",
    region: strings["gcp:region"] ?? "region",
  });
  await pulumi.runtime.setMocks(mocks.mocks, config.project, stack, false);
  const recorder = recordRegistrations({
    stack,
    project: config.project,
    providerInputs: (pkg) => providerInputs(config, strings, pkg),
  });
  rootCauses = () => [...recorder.errors, ...mocks.errors];
  // Last: setMocks resets the runtime's options, and any later setConfig would drop the secret keys.
  pulumi.runtime.setAllConfig(strings, config.secretKeys);

  const unfinished = (what: string) => () => {
    const pending = recorder.pending().join(", ") || "none (a promise the program awaits never settles)";
    fail(new PlanError(EXIT_PROGRAM_FAILED, `the program ${what}; pending registrations: ${pending}`));
  };
  // An empty event loop with the plan unfinished means a promise that can never settle.
  process.once("beforeExit", unfinished("stopped before finishing"));
  setTimeout(unfinished(`did not finish within ${timeoutMs} ms`), timeoutMs).unref();

  const program = path.resolve(root, config.main);
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      recorder.noteConstructed(args);
      return undefined;
    });
    // Loaded the way Pulumi's Node.js language host loads a CommonJS program; its exports are the stack outputs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(program) as unknown;
  });
  await pulumi.runtime.disconnect();
  // Mocks answer without I/O, so the whole run can finish within one turn of the event loop; one more
  // turn lets Node report any rejection the program left unhandled before the plan is declared good.
  await new Promise((resolve) => setImmediate(resolve));

  if (rootCauses().length > 0)
    fail(new PlanError(EXIT_PROGRAM_FAILED, "the engine would reject this deployment"));
  return {
    project: config.project,
    stack,
    config: documentConfig(config),
    resources: recorder.resources,
    outputs: recorder.outputs ?? {},
    notice: PLAN_NOTICE,
  };
}

function main(): void {
  const [root, stack, overridesJson, timeoutText] = process.argv.slice(2);
  if (root === undefined || stack === undefined || overridesJson === undefined || timeoutText === undefined) {
    fail(
      new PlanError(EXIT_BAD_INPUT, "usage: tsx plan/worker.ts <root> <stack> <overrides JSON> <timeout ms>"),
    );
  }
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  plan(
    path.resolve(root),
    stack,
    JSON.parse(overridesJson) as Record<string, string>,
    Number(timeoutText),
  ).then((document) => writeDocument(`${JSON.stringify(document)}\n`, () => process.exit(0)), fail);
}

main();
