// `npm run plan`: the offline plan of a stack, or its diff against another stack or a git ref.
// Progress and the program's own output go to stderr, so stdout holds only the plan (one JSON
// document with --json).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { diffPlans } from "./diff";
import { EXIT_BAD_INPUT, EXIT_PROGRAM_FAILED, PlanError } from "./errors";
import { formatDiff, formatPlan } from "./format";
import { extractTree, type ExtractedTree } from "./git-tree";
import { runPlan } from "./run";

const USAGE = `usage: npm run plan -- --stack <name> [--config key=value]... [--json]
       npm run plan -- --stack <name> [--config key=value]... --against <stack | git-ref:stack> [--json]

Runs the Pulumi program under mocks with Pulumi.<name>.yaml and prints every resource it would
register; no Pulumi CLI, plugins or cloud credentials needed.

  --stack NAME         the stack whose config file (Pulumi.NAME.yaml) to plan
  --config key=value   override one config value (repeatable); a key without a namespace belongs to
                       the project; a dotted key (database.tier) sets one field of a structured value
  --against TARGET     compare with another stack (prod) or a stack at a git ref (origin/main:prod);
                       --config applies to the --stack side only
  --json               print JSON (the plan, or {added, removed, changed}) instead of text
  --help               print this help

Exit codes: 0 success; 2 bad arguments or bad config; 1 the program threw.
`;

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

interface Command {
  stack: string;
  overrides: Record<string, string>;
  against?: { ref?: string; stack: string };
  json: boolean;
}

const badArgs = (message: string) => new PlanError(EXIT_BAD_INPUT, message);

function stackName(name: string, flag: string): string {
  if (!STACK_NAME.test(name))
    throw badArgs(`${flag}: "${name}" is not a stack name (letters, digits, _ . -)`);
  return name;
}

function parseCommand(argv: string[]): Command | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: "string" },
        config: { type: "string", multiple: true },
        against: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // Node's messages go on with advice about positionals; the first sentence names the flag.
    throw badArgs(`${(error as Error).message.split(/\.\s/)[0]} (see --help)`);
  }
  const { values } = parsed;
  if (values.help === true) return "help";
  if (values.stack === undefined) throw badArgs("--stack is required (see --help)");

  const overrides: Record<string, string> = {};
  for (const entry of values.config ?? []) {
    const separator = entry.indexOf("=");
    if (separator <= 0) throw badArgs(`--config ${entry}: expected key=value`);
    overrides[entry.slice(0, separator)] = entry.slice(separator + 1);
  }

  let against: Command["against"];
  if (values.against !== undefined) {
    // Git ref names cannot contain ":", so the last one separates the ref from the stack.
    const separator = values.against.lastIndexOf(":");
    against =
      separator < 0
        ? { stack: stackName(values.against, "--against") }
        : {
            ref: values.against.slice(0, separator),
            stack: stackName(values.against.slice(separator + 1), "--against"),
          };
    if (against.ref === "") throw badArgs(`--against ${values.against}: expected <git-ref>:<stack>`);
  }
  return { stack: stackName(values.stack, "--stack"), overrides, against, json: values.json === true };
}

/** Like the Pulumi CLI: the project is the nearest directory upwards holding Pulumi.yaml. */
function findProjectRoot(start: string): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw badArgs(`no Pulumi.yaml in ${start} or any directory above it`);
  }
}

function settled<T>(result: PromiseSettledResult<T>, side: string): T {
  if (result.status === "fulfilled") return result.value;
  const error: unknown = result.reason;
  throw error instanceof PlanError ? new PlanError(error.exitCode, `${side}: ${error.message}`) : error;
}

const progress = (text: string) => process.stderr.write(`${text}\n`);
const forwardLog = (text: string) => process.stderr.write(text);

async function main(argv: string[]): Promise<void> {
  const command = parseCommand(argv);
  if (command === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const root = findProjectRoot(process.cwd());
  const overridden = Object.keys(command.overrides).length > 0;
  const label = `${command.stack}${overridden ? ` with --config ${Object.keys(command.overrides).join(", ")}` : ""}`;

  if (command.against === undefined) {
    progress(`planning ${label}…`);
    const plan = await runPlan({
      stack: command.stack,
      overrides: command.overrides,
      root,
      onLog: forwardLog,
    });
    process.stdout.write(command.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
    return;
  }

  const { ref, stack: againstStack } = command.against;
  const againstLabel = ref === undefined ? againstStack : `${ref}:${againstStack}`;
  let tree: ExtractedTree | undefined;
  try {
    tree = ref === undefined ? undefined : extractTree(root, ref);
    progress(`planning ${label} and ${againstLabel}…`);
    // Both runs finish before anything is reported or removed, so a failure on one side names its side.
    const [before, after] = await Promise.allSettled([
      runPlan({ stack: againstStack, root: tree?.root ?? root, onLog: forwardLog }),
      runPlan({ stack: command.stack, overrides: command.overrides, root, onLog: forwardLog }),
    ]).then(([before, after]) => [settled(before, againstLabel), settled(after, label)]);
    const diff = diffPlans(before, after);
    process.stdout.write(
      command.json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff, againstLabel, label),
    );
  } finally {
    tree?.remove();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const planError = error instanceof PlanError ? error : undefined;
  process.stderr.write(`error: ${planError?.message ?? String(error)}\n`);
  process.exitCode = planError?.exitCode ?? EXIT_PROGRAM_FAILED;
});
