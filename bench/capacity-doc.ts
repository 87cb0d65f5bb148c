// docs/capacity.md: the capacity plan and monthly cost of every stack, rendered from bench/results.json,
// the stack files (through lib/stack-files.ts) and bench/prices.ts, so no figure is typed twice.
// `npm run capacity -- --markdown` writes it; tests/bench/capacity.test.ts renders it again and fails
// when the committed file differs.
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { format, resolveConfig } from "prettier";

import type { StackConfig } from "../config";
import { isDeployed, NODE_ALLOCATABLE_CPU_SHARE, quotaRows, type QuotaRow } from "../lib/quotas";
import { REPO_ROOT, STACKS, stackConfig } from "../lib/stack-files";
import { dollars, monthlyCost, type MonthlyCost } from "./capacity-cost";
import {
  chooseBasis,
  CLOUD_RUN_CONCURRENCY_TARGET_PERCENT,
  CLOUD_RUN_CPU_TARGET_PERCENT,
  NODE_ALLOCATABLE_MEMORY_SHARE,
  planCapacity,
  round,
  type CapacityPlan,
  type PlatformPlan,
} from "./capacity-plan";
import { HOURS_PER_MONTH, PRICE_TABLE, type ListPrice, type PriceTable } from "./prices";
import { benchResultsSchema, type BenchResults } from "./results";

export const CAPACITY_DOC_PATH = join(REPO_ROOT, "docs", "capacity.md");
export const DEFAULT_RESULTS_PATH = join(REPO_ROOT, "bench", "results.json");
export const CAPACITY_DOC_COMMAND = "npm run capacity -- --markdown";

export function readBenchResults(path: string): BenchResults {
  const parsed = benchResultsSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new Error(`${path}: ${issue.path.join(".")}: ${issue.message} (re-run npm run bench)`);
  }
  return parsed.data;
}

export interface StackCapacity {
  readonly name: string;
  readonly stack: StackConfig;
  readonly plan: CapacityPlan;
  readonly cost: MonthlyCost;
}

export function stackCapacity(
  name: string,
  stack: StackConfig,
  results: BenchResults,
  table: PriceTable = PRICE_TABLE,
): StackCapacity {
  const plan = planCapacity({ stack, basis: chooseBasis(results) });
  return { name, stack, plan, cost: monthlyCost(plan, stack, table) };
}

/** One list price as a row: what it is, the figure, and where and when it was read. */
export interface PriceRow {
  readonly figure: string;
  readonly price: ListPrice;
}

/** The figures the given stacks' costs use, in the table's order. */
export function pricesUsed(stacks: readonly StackConfig[], table: PriceTable = PRICE_TABLE): PriceRow[] {
  const rows: PriceRow[] = [
    { figure: "GKE cluster management fee", price: table.gkeClusterHour },
    { figure: "GKE free tier credit (zonal and Autopilot clusters)", price: table.gkeFreeTierMonthlyCredit },
  ];
  for (const region of [...new Set(stacks.map((stack) => stack.gcp.region))]) {
    const prices = table.regions[region];
    if (prices === undefined) continue;
    const machineTypes = [...new Set(stacks.map((stack) => stack.gke.machineType))];
    for (const machineType of machineTypes) {
      const hourly = prices.machineHour.usd[machineType];
      if (hourly === undefined) continue;
      rows.push({
        figure: `${machineType} on demand, ${region}`,
        price: { usd: hourly, unit: "hour", source: prices.machineHour.source },
      });
    }
    const { instanceBased, requestBased } = prices.cloudRun;
    rows.push(
      { figure: `Cloud Run instance-based CPU, ${region}`, price: instanceBased.vcpuSecond },
      { figure: `Cloud Run instance-based memory, ${region}`, price: instanceBased.gibSecond },
      { figure: `Cloud Run request-based CPU, ${region}`, price: requestBased.vcpuSecond },
      { figure: `Cloud Run request-based memory, ${region}`, price: requestBased.gibSecond },
      { figure: `Cloud Run requests, ${region}`, price: requestBased.perMillionRequests },
      { figure: `Cloud Run idle minimum instance CPU, ${region}`, price: requestBased.idleVcpuSecond },
      { figure: `Cloud Run idle minimum instance memory, ${region}`, price: requestBased.idleGibSecond },
    );
  }
  return rows;
}

export function formatPriceRows(rows: readonly PriceRow[]): string {
  const lines = rows.map(
    ({ figure, price }) =>
      `  ${figure}: $${price.usd} per ${price.unit} (${price.source.url}, ${price.source.asOf})`,
  );
  return `list prices used:\n${lines.join("\n")}\n`;
}

const cell = (value: string | number): string => String(value).replaceAll("|", "\\|");
const row = (cells: readonly (string | number)[]): string => `| ${cells.map(cell).join(" | ")} |`;
const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] => [
  row(header),
  row(header.map(() => "---")),
  ...rows.map(row),
];
const percent = (share: number): string => `${Math.round(share * 100)} %`;

function basisSection(results: BenchResults, resultsLabel: string, plan: CapacityPlan): string[] {
  const { machine, settings } = results;
  const { basis } = plan.inputs;
  return [
    "## Measured basis",
    "",
    `\`${resultsLabel}\`: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, ` +
      `${machine.os}; started ${machine.date} with load average ${machine.loadAverageAtStart.join(", ")} ` +
      `(1, 5, 15 min); the run took ${Math.round(results.totalSeconds)} s. ${settings.connections} connections, ` +
      `${settings.durationSeconds} s measured after ${settings.warmupSeconds} s warm-up` +
      `${settings.quick ? " (a quick run: not a basis for sizing)" : ""}.`,
    "",
    ...settings.notes.map((note) => `- ${note}`),
    "",
    ...table(
      ["scenario", "rps", "mean ms", "p99.9 ms", "API CPU", "rps per busy vCPU", "SLA"],
      results.scenarios.map((scenario) => [
        scenario.name === basis.scenario ? `**${scenario.name}** (basis)` : scenario.name,
        Math.round(scenario.rps),
        scenario.latencyMs.mean,
        scenario.latencyMs.p99_9,
        percent(scenario.server.cpuUtilization),
        Math.round(scenario.rps / scenario.server.cpuUtilization),
        `${scenario.sla.verdict} (${scenario.sla.reason})`,
      ]),
    ),
    "",
    `Basis: \`${basis.scenario}\`: ${basis.why}. Little's law on the benchmark itself: ` +
      `${Math.round(basis.rps)} rps x ${round(basis.meanLatencyMs / 1000, 4)} s = ` +
      `${round(basis.rps * (basis.meanLatencyMs / 1000), 1)} requests in flight (it drove ${basis.connections}).`,
  ];
}

function methodSection(): string[] {
  return [
    "## Method",
    "",
    "Little's law, concurrency = throughput x latency: the target's requests in flight, each taking the " +
      "basis's mean latency, arrive at target / latency requests per second. A replica serves the basis's " +
      "rps divided by the share of its vCPU it used (one event loop: `app.cpu` beyond one vCPU adds nothing), " +
      "and the autoscaler holds it at its CPU target, so replicas >= request rate / (rps per replica x CPU target). " +
      "Independently, replicas >= target / per-replica limit (`app.maxInFlight` on GKE; on Cloud Run " +
      `\`cloudrun.concurrency\` x its ${CLOUD_RUN_CONCURRENCY_TARGET_PERCENT} % concurrency target). ` +
      `Cloud Run's CPU target is ${CLOUD_RUN_CPU_TARGET_PERCENT} %, GKE's is \`gke.cpuTargetPercent\`. ` +
      "The larger count binds. A node gives pods " +
      `${percent(NODE_ALLOCATABLE_CPU_SHARE)} of its vCPUs and ${percent(NODE_ALLOCATABLE_MEMORY_SHARE)} of its memory.`,
    "",
    `Monthly cost: ${HOURS_PER_MONTH} hours at list prices, before free tiers, committed-use discounts and taxes; ` +
      "compute only (no boot disks, load balancer, egress or data tier). At the target the load is held all month; " +
      "the idle floor is what the minimum settings keep running with no traffic.",
  ];
}

function platformSection(plan: PlatformPlan, inUse: boolean): string[] {
  const title = plan.platform === "gke" ? "GKE" : "Cloud Run";
  return [
    `### ${title}${inUse ? " (the stack's platform)" : ""}`,
    "",
    ...table(
      ["step", "arithmetic", "value"],
      plan.steps.map((step) => [step.label, step.formula, step.value]),
    ),
    "",
    `Binding: ${plan.binding}.`,
    "",
    ...table(
      ["check", "setting", "current", "needs"],
      plan.checks.map((check) => [
        check.covered ? "COVERED" : "**NOT COVERED**",
        `\`${check.setting}\``,
        check.current,
        check.needs,
      ]),
    ),
  ];
}

function stackSection({ name, stack, plan, cost }: StackCapacity): string[] {
  return [
    `## Stack \`${name}\``,
    "",
    `Target ${stack.targetConcurrentRequests} concurrent requests on \`${stack.platform}\` in ${stack.gcp.region} ` +
      `(\`Pulumi.${name}.yaml\`): ${Math.round(plan.requestRate)} requests/s at the basis's mean latency.`,
    "",
    ...platformSection(plan.gke, stack.platform === "gke"),
    "",
    ...platformSection(plan.cloudrun, stack.platform === "cloudrun"),
    "",
    "### Recommended values",
    "",
    ...table(
      ["setting", "value", "why"],
      plan.recommendations.map((r) => [`\`${r.setting}\``, `\`${r.value}\``, r.why]),
    ),
    "",
    "### Monthly compute cost",
    "",
    ...table(
      ["option", "load", "arithmetic", "USD / month"],
      cost.lines.map((line) => [line.option, line.load, line.formula, dollars(line.usdPerMonth)]),
    ),
    ...(cost.gaps.length + cost.notes.length > 0 ? [""] : []),
    ...cost.gaps.map((gap) => `- **Not priced:** ${gap}.`),
    ...cost.notes.map((note) => `- ${note}.`),
    "",
    ...quotasSection(stack),
  ];
}

/** Every quota of the stack against its grant; only a deployed platform's rows are enforced. */
function stackQuotas(stack: StackConfig): { row: QuotaRow; deployed: boolean }[] {
  return quotaRows(stack, stack.quotas).map((row) => ({
    row,
    deployed: isDeployed(stack, row),
  }));
}

const deployedLabel = (deployed: boolean) => (deployed ? "deployed" : "not deployed");

/** `npm run capacity -- --stack NAME`'s quota table. */
export function formatQuotas(stack: StackConfig): string {
  const lines = stackQuotas(stack).map(
    ({ row, deployed }) =>
      `  ${(row.ok ? "OK" : "OVER QUOTA").padEnd(11)}${row.quota} in ${row.region} (${row.platform}, ${deployedLabel(deployed)}): ` +
      `need ${row.need}, granted ${row.grant}; increase: ${row.howToIncrease}`,
  );
  return ["quotas (items-api:quotas, granted to the project):", ...lines, ""].join("\n");
}

function quotasSection(stack: StackConfig): string[] {
  return [
    "### Quotas (`items-api:quotas`)",
    "",
    "What the stack needs at full scale against what its project was granted; `pulumi up` is refused when a " +
      "deployed platform needs more.",
    "",
    ...table(
      ["quota", "platform", "need", "grant", "ok", "how to increase"],
      stackQuotas(stack).map(({ row, deployed }) => [
        `${row.quota} (${row.region})`,
        `${row.platform} (${deployedLabel(deployed)})`,
        row.need,
        row.grant,
        row.ok ? "yes" : "no",
        row.howToIncrease,
      ]),
    ),
  ];
}

function pricesSection(rows: readonly PriceRow[]): string[] {
  return [
    "## List prices (`bench/prices.ts`)",
    "",
    ...table(
      ["figure", "USD", "per", "as of", "source", "how it was read"],
      rows.map(({ figure, price }) => [
        figure,
        price.usd,
        price.unit,
        price.source.asOf,
        `<${price.source.url}>`,
        price.source.evidence,
      ]),
    ),
  ];
}

export interface CapacityDocInputs {
  readonly results: BenchResults;
  /** How the document names the results file: a path relative to the repository. */
  readonly resultsLabel: string;
  readonly stacks: readonly StackCapacity[];
  readonly table?: PriceTable;
}

export async function renderCapacityDoc(inputs: CapacityDocInputs): Promise<string> {
  const { results, resultsLabel, stacks } = inputs;
  const [first] = stacks;
  if (first === undefined) throw new Error("capacity document: no stacks");
  const stackList = stacks.map((s) => `\`${s.name}\``).join(", ");
  const markdown = [
    `<!-- Generated by \`${CAPACITY_DOC_COMMAND}\`; do not edit. tests/bench/capacity.test.ts fails when it is stale. -->`,
    "",
    "# Capacity plan and monthly cost",
    "",
    `Generated by \`${CAPACITY_DOC_COMMAND}\` from \`${resultsLabel}\`, the stacks ${stackList} (read through ` +
      "`lib/stack-files.ts`) and the list prices in `bench/prices.ts`. After `npm run bench`, a stack change or a " +
      "price update, run it again and commit the result: `tests/bench/capacity.test.ts` renders the document " +
      "and fails when this file differs.",
    "",
    ...basisSection(results, resultsLabel, first.plan),
    "",
    ...methodSection(),
    "",
    ...stacks.flatMap((s) => [...stackSection(s), ""]),
    ...pricesSection(
      pricesUsed(
        stacks.map((s) => s.stack),
        inputs.table,
      ),
    ),
    "",
  ].join("\n");
  // Formatted as `prettier --check` wants the committed file, with the repository's own settings.
  const options = await resolveConfig(CAPACITY_DOC_PATH);
  return format(markdown, { ...options, filepath: CAPACITY_DOC_PATH });
}

/** docs/capacity.md as the repository's results, stack files and prices make it now. */
export async function capacityDoc(resultsPath = DEFAULT_RESULTS_PATH): Promise<string> {
  const results = readBenchResults(resultsPath);
  return renderCapacityDoc({
    results,
    resultsLabel: relative(REPO_ROOT, resultsPath),
    stacks: STACKS.map((name) => stackCapacity(name, stackConfig(name), results)),
  });
}
