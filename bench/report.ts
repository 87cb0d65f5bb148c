// SLA verdicts and the printed tables of `npm run bench` (Markdown, so they paste into the README).
import type { BenchResults, LoadFigures, SlaVerdict } from "./results";
import { SCENARIOS, SLA_MAX_FAILED_SHARE, SLA_P99_9_MS, STARTUP_TARGET_MS, type SlaBound } from "./scenarios";

/** PASS when p99.9 is under the bound and at most 0.1 % of the requests failed (errors or non-2xx). */
export function judgeSla(figures: LoadFigures, bound: SlaBound): SlaVerdict {
  const limitMs = SLA_P99_9_MS[bound];
  const failed = figures.errors + figures.non2xx;
  const failedShare = failed / Math.max(figures.requests + figures.errors, 1);
  const p99_9 = figures.latencyMs.p99_9;
  const reasons: string[] = [];
  if (!(p99_9 < limitMs)) reasons.push(`p99.9 ${p99_9} ms >= ${limitMs} ms`);
  if (failedShare > SLA_MAX_FAILED_SHARE)
    reasons.push(`${(failedShare * 100).toFixed(2)} % of requests failed`);
  return {
    bound,
    limitMs,
    verdict: reasons.length === 0 ? "PASS" : "FAIL",
    reason: reasons.length === 0 ? `p99.9 ${p99_9} ms < ${limitMs} ms, ${failed} failed` : reasons.join("; "),
  };
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

const fixed = (value: number, digits = 0) => value.toFixed(digits);
const percent = (value: number | null) => (value === null ? "-" : `${Math.round(value * 100)} %`);

function loadCells(figures: LoadFigures): string[] {
  const { latencyMs: latency, server } = figures;
  return [
    fixed(figures.rps),
    fixed(latency.p50),
    fixed(latency.p90),
    fixed(latency.p99),
    fixed(latency.p99_9),
    String(figures.errors),
    String(figures.non2xx),
    fixed(server.cpuSeconds, 1),
    percent(server.cpuUtilization),
    fixed(server.peakRssMiB),
  ];
}

const LOAD_HEADER = [
  "rps",
  "p50 ms",
  "p90 ms",
  "p99 ms",
  "p99.9 ms",
  "errors",
  "non-2xx",
  "CPU s",
  "CPU",
  "peak RSS MiB",
];

export const micros = (value: number | null | undefined) =>
  value === null || value === undefined ? "-" : fixed(value);

/** The lowest and highest per-round ratio of `api` to `bare` CPU per request ("2.05-2.31"). */
export function roundRatios(api: readonly number[], bare: readonly number[]): string {
  const ratios = api.flatMap((apiMicros, round) => (bare[round] > 0 ? [apiMicros / bare[round]] : []));
  if (ratios.length === 0) return "-";
  return `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`;
}
const ratio = (value: number | null | undefined) =>
  value === null || value === undefined ? "-" : value.toFixed(2);

/** Spawn to the first 200 on /readyz, and the median of each step the API logs. */
export function formatStartup(startup: BenchResults["startup"]): string {
  const steps = Object.entries(startup.medianStepsMs ?? {})
    .map(([step, ms]) => `${step.replace(/Ms$/, "")} ${ms.toFixed(0)}`)
    .join(", ");
  return [
    `start-up (spawn to first 200 on /readyz): median ${startup.medianReadyMs.toFixed(0)} ms of ` +
      `${startup.readyMs.map((ms) => ms.toFixed(0)).join(", ")} ms`,
    `start-up steps, median ms (process start to "listening"): ${steps === "" ? "not logged" : steps}`,
    `bare node:http spawn to first 200, timed next to each start: median ${startup.bareMedianReadyMs?.toFixed(0) ?? "-"} ms`,
  ].join("\n");
}

const byRound = (scenario: BenchResults["scenarios"][number]) =>
  scenario.cpuMicrosPerRound === undefined
    ? "-"
    : roundRatios(scenario.cpuMicrosPerRound.api, scenario.cpuMicrosPerRound.bare);

export function formatResults(results: BenchResults): string {
  const { settings, footprint, startup } = results;
  const rows = results.scenarios.map((scenario) => [
    scenario.name,
    ...loadCells(scenario),
    micros(scenario.cpuMicrosPerRequest),
    micros(scenario.bare?.cpuMicrosPerRequest),
    ratio(scenario.cpuToBare),
    byRound(scenario),
    micros(scenario.floor?.cpuMicrosPerRequest),
    ratio(scenario.floor?.cpuToBare),
    percent(scenario.cacheHitRatio),
    scenario.apiToBareRps === null ? "-" : scenario.apiToBareRps.toFixed(2),
    `${scenario.sla.verdict} (${scenario.sla.bound} < ${scenario.sla.limitMs} ms)`,
  ]);
  if (results.baseline !== null) {
    const bareMicros = (results.baseline.server.cpuSeconds * 1e6) / Math.max(results.baseline.requests, 1);
    rows.push([
      "bare node:http",
      ...loadCells(results.baseline),
      micros(bareMicros),
      "-",
      "1.00",
      "-",
      "-",
      "-",
      "-",
      "1.00",
      "-",
    ]);
  }
  const pinning =
    settings.serverCpu === null
      ? "server not pinned"
      : `server pinned to CPU ${settings.serverCpu}, load generator + PostgreSQL + Redis on CPU ${settings.loadCpu}`;
  const image =
    footprint.imageAppLayerMiB === null
      ? footprint.imageNote
      : `${footprint.imageAppLayerMiB.toFixed(1)} MiB on top of ${footprint.imageBase ?? "the base image"} (${footprint.imageNote})`;
  return [
    `${settings.connections} connections, ${settings.durationSeconds} s measured per server in ${settings.rounds} ` +
      `interleaved rounds after ${settings.warmupSeconds} s warm-up; ` +
      `${results.machine.cpus} CPUs (${results.machine.cpuModel}), node ${results.machine.node}, ` +
      `load average ${results.machine.loadAverageAtStart.join(" ")} before the run; ${pinning}`,
    "",
    table(
      [
        "scenario",
        ...LOAD_HEADER,
        "CPU µs/req",
        "bare µs/req",
        "CPU x bare",
        "x bare by round",
        "floor µs/req",
        "floor x bare",
        "cache hits",
        "api/bare rps",
        "SLA p99.9",
      ],
      rows,
    ),
    "",
    formatStartup(startup),
    `RSS: idle ${footprint.idleRssMiB.toFixed(0)} MiB, peak under load ${footprint.peakRssUnderLoadMiB.toFixed(0)} MiB`,
    `runtime image: ${image}`,
  ].join("\n");
}

const verdict = (value: number, target: number) => `${value <= target ? "met" : "NOT met"}`;

/** A missed CPU target says whether the floor alone (the scenario's round trips) already misses it. */
function cpuVerdict(ratioToBare: number, floorToBare: number | null | undefined, target: number): string {
  if (ratioToBare <= target) return "met";
  if (floorToBare === null || floorToBare === undefined) return "NOT met";
  return floorToBare > target ? "NOT met; the floor alone misses it" : "NOT met";
}

/** README's summary of bench/results.json: CPU per request against the bare server and the floor, and start-up, with their targets. */
export function formatSummary(results: BenchResults): string {
  const rows = results.scenarios.map((scenario) => {
    const target = SCENARIOS.find(({ name }) => name === scenario.name)?.cpuTargetToBare;
    const toBare = scenario.cpuToBare ?? null;
    return [
      scenario.name,
      fixed(scenario.rps),
      fixed(scenario.latencyMs.p99),
      micros(scenario.cpuMicrosPerRequest),
      micros(scenario.bare?.cpuMicrosPerRequest),
      ratio(toBare),
      byRound(scenario),
      micros(scenario.floor?.cpuMicrosPerRequest),
      ratio(scenario.floor?.cpuToBare),
      target === undefined ? "-" : `<= ${target.toFixed(1)}`,
      target === undefined || toBare === null ? "-" : cpuVerdict(toBare, scenario.floor?.cpuToBare, target),
    ];
  });
  const { startup, machine } = results;
  return [
    `\`npm run bench\` on ${machine.date.slice(0, 10)}, Node ${machine.node.replace(/^v/, "")}, ${machine.cpus} CPUs ` +
      `(${machine.cpuModel}), load average ${machine.loadAverageAtStart.join(" ")} at the start; ` +
      `${results.settings.connections} connections, ${results.settings.durationSeconds} s per scenario and server ` +
      `in ${results.settings.rounds} rounds, the API, floor and bare servers taking turns.`,
    "",
    table(
      [
        "scenario",
        "rps",
        "p99 ms",
        "CPU µs/req",
        "bare µs/req",
        "CPU x bare",
        "x bare by round",
        "floor µs/req",
        "floor x bare",
        "target",
        "verdict",
      ],
      rows,
    ),
    "",
    `Start-up, spawn to the first 200 on \`/readyz\` (schema migrated): median ${fixed(startup.medianReadyMs)} ms, ` +
      `target <= ${STARTUP_TARGET_MS} ms: ${verdict(startup.medianReadyMs, STARTUP_TARGET_MS)}; ` +
      `bare node:http ${startup.bareMedianReadyMs === undefined ? "-" : fixed(startup.bareMedianReadyMs)} ms.`,
  ].join("\n");
}
