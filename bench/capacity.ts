// `npm run capacity -- --stack NAME [--results PATH]`: the capacity plan for a stack from the measured
// per-replica figures in bench/results.json. Prints COVERED / NOT COVERED per setting; always exits 0
// once it could compute a plan (a gap is a finding, not an error).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chooseBasis, formatPlan, planCapacity } from "./capacity-plan";
import { benchResultsSchema } from "./results";
import { stackConfig as readStackConfig } from "../lib/stack-files";

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      stack: { type: "string" },
      results: { type: "string", default: join(__dirname, "results.json") },
    },
    strict: true,
  });
  if (values.stack === undefined) throw new Error("--stack NAME is required (reads Pulumi.NAME.yaml)");
  const resultsPath = resolve(values.results);
  const parsed = benchResultsSchema.safeParse(JSON.parse(readFileSync(resultsPath, "utf8")));
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new Error(`${resultsPath}: ${issue.path.join(".")}: ${issue.message} (re-run npm run bench)`);
  }
  const results = parsed.data;
  const stack = readStackConfig(values.stack);
  const plan = planCapacity({ stack, basis: chooseBasis(results) });
  const measuredOn = `${results.machine.cpus} CPUs, ${results.machine.cpuModel}, ${results.machine.date}`;
  process.stdout.write(
    `stack ${values.stack}; measurements: ${resultsPath} (${measuredOn})\n${formatPlan(plan)}`,
  );
}

try {
  main();
} catch (error) {
  process.stderr.write(`capacity: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
