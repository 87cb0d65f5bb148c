// Monthly compute cost of a capacity plan on both platforms, at the target load held for a month and at
// the idle floor (gke.minReplicas / gke.minNodes, cloudrun.minInstances), from bench/prices.ts. Pure, so
// the arithmetic is checked on a small table by hand (tests/bench/capacity.test.ts). Compute only:
// node boot disks, load balancing, network egress and the data tier are not in it.
import { parseCpuCores, parseMemoryMiB } from "../components/workload/api-environment";
import type { StackConfig } from "../config";
import { CLOUD_RUN_MAX_INSTANCES, nodesFor, type CapacityPlan, type CapacitySettings } from "./capacity-plan";
import { HOURS_PER_MONTH, type ListPrice, type PriceTable } from "./prices";

/** The stack settings the cost reads; a parsed stack config satisfies it. */
export type CostSettings = CapacitySettings & Pick<StackConfig, "gcp">;

export type Load = "target" | "idle floor";

export interface CostLine {
  /** Platform and billing model, e.g. "Cloud Run, request-based billing". */
  readonly option: string;
  readonly load: Load;
  readonly formula: string;
  readonly usdPerMonth: number;
}

export interface MonthlyCost {
  readonly region: string;
  readonly lines: readonly CostLine[];
  /** Prices the table lacks for this stack, each naming what to add; the lines skip those options. */
  readonly gaps: readonly string[];
  readonly notes: readonly string[];
}

const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

/** A price as the table holds it: `$0.000018`, never rounded, so the formula can be redone by hand. */
const usd = (price: ListPrice | number): string => `$${typeof price === "number" ? price : price.usd}`;

function gkeLines(plan: CapacityPlan, stack: CostSettings, machineHourUsd: number, table: PriceTable) {
  const feePerMonth = table.gkeClusterHour.usd * HOURS_PER_MONTH;
  const line = (load: Load, nodes: number, why: string): CostLine => ({
    option: "GKE Standard, on-demand nodes",
    load,
    formula:
      `${nodes} node${nodes === 1 ? "" : "s"} (${why}) x ${usd(machineHourUsd)}/h ${stack.gke.machineType} x ${HOURS_PER_MONTH} h` +
      ` + ${usd(table.gkeClusterHour)}/h cluster fee x ${HOURS_PER_MONTH} h`,
    usdPerMonth: nodes * machineHourUsd * HOURS_PER_MONTH + feePerMonth,
  });
  const atTarget = nodesFor(stack, plan.gke.requiredReplicas);
  const atFloor = nodesFor(stack, stack.gke.minReplicas);
  const minNodes = stack.gke.minNodes * atFloor.zones;
  const floorWhy =
    minNodes >= atFloor.total
      ? `gke.minNodes ${stack.gke.minNodes} x ${atFloor.zones} zone${atFloor.zones === 1 ? "" : "s"}`
      : `gke.minReplicas ${stack.gke.minReplicas} / ${atFloor.podsPerNode} pods per node`;
  return {
    lines: [
      line(
        "target",
        atTarget.total,
        `${plan.gke.requiredReplicas} replicas / ${atTarget.podsPerNode} pods per node`,
      ),
      line("idle floor", Math.max(minNodes, atFloor.total), floorWhy),
    ],
    notes: stack.gke.regional
      ? []
      : [
          `a zonal cluster's fee (${dollars(feePerMonth)} a month) is paid by the GKE free tier credit of ` +
            `${usd(table.gkeFreeTierMonthlyCredit)} per billing account and month when no other zonal or Autopilot cluster uses it`,
        ],
  };
}

function cloudRunLines(plan: CapacityPlan, stack: CostSettings, prices: PriceTable["regions"][string]) {
  const { instanceBased, requestBased } = prices.cloudRun;
  const vcpu = parseCpuCores(stack.app.cpu);
  const gib = parseMemoryMiB(stack.app.memory) / 1024;
  const instanceSeconds = (instances: number, cpu: ListPrice, memory: ListPrice) => ({
    formula:
      `${instances} instances x (${vcpu} vCPU x ${usd(cpu)} + ${gib} GiB x ${usd(memory)}) ` +
      `x ${SECONDS_PER_MONTH} s`,
    usdPerMonth: instances * (vcpu * cpu.usd + gib * memory.usd) * SECONDS_PER_MONTH,
  });
  const instances = plan.cloudrun.requiredReplicas;
  const warm = stack.cloudrun.minInstances;
  const busy = instanceSeconds(instances, requestBased.vcpuSecond, requestBased.gibSecond);
  const requestRate = Math.round(plan.requestRate);
  const requestFee = ((requestRate * SECONDS_PER_MONTH) / 1e6) * requestBased.perMillionRequests.usd;
  const instanceBilling = "Cloud Run, instance-based billing";
  const requestBilling = "Cloud Run, request-based billing";
  return [
    {
      option: instanceBilling,
      load: "target",
      ...instanceSeconds(instances, instanceBased.vcpuSecond, instanceBased.gibSecond),
    },
    {
      option: instanceBilling,
      load: "idle floor",
      ...instanceSeconds(warm, instanceBased.vcpuSecond, instanceBased.gibSecond),
    },
    {
      // At the target every instance handles requests all the time, so all of its time is billed.
      option: requestBilling,
      load: "target",
      formula:
        `${busy.formula} + ${requestRate} requests/s x ${SECONDS_PER_MONTH} s / 1e6 x ` +
        `${usd(requestBased.perMillionRequests)}`,
      usdPerMonth: busy.usdPerMonth + requestFee,
    },
    {
      option: requestBilling,
      load: "idle floor",
      ...instanceSeconds(warm, requestBased.idleVcpuSecond, requestBased.idleGibSecond),
    },
  ] satisfies CostLine[];
}

export function monthlyCost(plan: CapacityPlan, stack: CostSettings, table: PriceTable): MonthlyCost {
  const { region } = stack.gcp;
  const prices = table.regions[region];
  if (prices === undefined) {
    return {
      region,
      lines: [],
      gaps: [`no list prices for region ${region} in bench/prices.ts`],
      notes: [],
    };
  }
  const machineHourUsd = prices.machineHour.usd[stack.gke.machineType];
  const gke = machineHourUsd === undefined ? undefined : gkeLines(plan, stack, machineHourUsd, table);
  const overLimit = plan.cloudrun.requiredReplicas > CLOUD_RUN_MAX_INSTANCES;
  return {
    region,
    lines: [...(gke?.lines ?? []), ...cloudRunLines(plan, stack, prices)],
    gaps:
      gke === undefined
        ? [`no list price for ${stack.gke.machineType} in ${region} in bench/prices.ts: GKE is not priced`]
        : [],
    notes: [
      ...(gke?.notes ?? []),
      ...(overLimit
        ? [
            `Cloud Run at target is priced for ${plan.cloudrun.requiredReplicas} instances, above the ` +
              `${CLOUD_RUN_MAX_INSTANCES}-instance limit of one service`,
          ]
        : []),
    ],
  };
}

/** Whole dollars with thousands separators: the prices are list prices, cents would claim too much. */
export const dollars = (value: number): string => `$${Math.round(value).toLocaleString("en-US")}`;

export function formatCost(cost: MonthlyCost): string {
  const lines = [
    `monthly compute cost (list prices in ${cost.region}, ${HOURS_PER_MONTH} h a month, before free tiers and discounts; bench/prices.ts):`,
    ...cost.lines.map(
      (line) => `  ${line.option} at ${line.load}: ${line.formula} = ${dollars(line.usdPerMonth)}`,
    ),
    ...cost.gaps.map((gap) => `  NOT PRICED: ${gap}`),
    ...cost.notes.map((note) => `  note: ${note}`),
  ];
  return `${lines.join("\n")}\n`;
}
