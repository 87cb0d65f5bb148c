// `npm run capacity -- --stack NAME [--results PATH]`: the capacity plan and monthly cost of a stack from
// the measured per-replica figures in bench/results.json. Prints COVERED / NOT COVERED per setting;
// always exits 0 once it could compute a plan (a gap is a finding, not an error).
// `npm run capacity -- --markdown [--results PATH]`: writes docs/capacity.md for every stack.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  CAPACITY_DOC_PATH,
  capacityDoc,
  DEFAULT_RESULTS_PATH,
  formatPriceRows,
  formatQuotas,
  pricesUsed,
  readBenchResults,
  stackCapacity,
} from "./capacity-doc";
import { formatCost } from "./capacity-cost";
import { formatPlan } from "./capacity-plan";
import { REPO_ROOT, stackConfig } from "../lib/stack-files";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      stack: { type: "string" },
      markdown: { type: "boolean", default: false },
      results: { type: "string", default: DEFAULT_RESULTS_PATH },
    },
    strict: true,
  });
  const resultsPath = resolve(values.results);
  if (values.markdown) {
    if (values.stack !== undefined) throw new Error("--markdown covers every stack; drop --stack");
    mkdirSync(dirname(CAPACITY_DOC_PATH), { recursive: true });
    writeFileSync(CAPACITY_DOC_PATH, await capacityDoc(resultsPath));
    process.stdout.write(`wrote ${relative(REPO_ROOT, CAPACITY_DOC_PATH)}\n`);
    return;
  }
  if (values.stack === undefined) {
    throw new Error("--stack NAME is required (reads Pulumi.NAME.yaml), or --markdown for every stack");
  }
  const results = readBenchResults(resultsPath);
  const stack = stackConfig(values.stack);
  const { plan, cost } = stackCapacity(values.stack, stack, results);
  const measuredOn = `${results.machine.cpus} CPUs, ${results.machine.cpuModel}, ${results.machine.date}`;
  process.stdout.write(
    `stack ${values.stack}; measurements: ${resultsPath} (${measuredOn})\n${formatPlan(plan)}\n` +
      `${formatCost(cost)}${formatPriceRows(pricesUsed([stack]))}${formatQuotas(stack)}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`capacity: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
