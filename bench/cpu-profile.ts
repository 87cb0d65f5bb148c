// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and ranks functions by self time: the time
// the CPU spent in the function's own code, callees excluded, which is where optimisation pays.
import { existsSync, readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { dirname, resolve, sep } from "node:path";

/** The parts of the Chrome DevTools CPU profile format this module reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      /** 0-based; -1 when unknown. */
      readonly lineNumber: number;
      /** 0-based; -1 when unknown. */
      readonly columnNumber?: number;
    };
  }>;
  readonly startTime: number;
  readonly endTime: number;
  /** Node id on the stack top at each sample. */
  readonly samples: readonly number[];
  /** Microseconds from the previous sample (from startTime for the first). */
  readonly timeDeltas?: readonly number[];
}

/** A span of the profiled process's life in the profile's clock (CLOCK_MONOTONIC, microseconds). */
export interface ProfileWindow {
  readonly startMicros: number;
  readonly endMicros: number;
}

/** Where a function's code lives. */
export type CodeOrigin = "app" | "node_modules" | "node" | "native";

export interface FunctionCost {
  readonly name: string;
  /** `file:line` relative to the repository or node_modules; empty for V8's pseudo-frames. */
  readonly location: string;
  readonly origin: CodeOrigin;
  readonly selfMs: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly byOrigin: Readonly<Record<CodeOrigin, number>>;
  /** Busy time per npm package, largest first. */
  readonly byPackage: ReadonlyArray<{ readonly name: string; readonly selfMs: number }>;
  /** Every function with samples, largest self time first. */
  readonly functions: readonly FunctionCost[];
}

/**
 * Where a frame of generated code (a bundle) was written: a path and a 0-based line, or undefined
 * to keep the frame as it is.
 */
export type SourceLocator = (
  path: string,
  line: number,
  column: number,
) => { path: string; line: number } | undefined;

/**
 * Reads the source map next to each script (`server.js.map`, esbuild's `--sourcemap`), so the
 * one-file bundle's frames count for the package or app module they came from.
 */
export function sourceMapLocator(): SourceLocator {
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (path: string) => {
    if (!maps.has(path)) {
      const mapPath = `${path}.map`;
      maps.set(
        path,
        existsSync(mapPath)
          ? new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")) as SourceMapPayload)
          : undefined,
      );
    }
    return maps.get(path);
  };
  return (path, line, column) => {
    const entry = mapOf(path)?.findEntry(line, column);
    if (entry === undefined || !("originalSource" in entry)) return undefined;
    return { path: resolve(dirname(path), entry.originalSource), line: entry.originalLine };
  };
}

const NODE_MODULES = `${sep}node_modules${sep}`;

function originOf(url: string, appRoot: string): CodeOrigin {
  if (url === "") return "native"; // (garbage collector), (program), C++ bindings such as writev
  if (url.startsWith("node:")) return "node";
  if (url.includes(NODE_MODULES) || url.includes("/node_modules/")) return "node_modules";
  return url.includes(appRoot) ? "app" : "node";
}

function pathOf(url: string): string {
  return url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
}

/** `@scope/name` or `name` of the innermost package in a node_modules path. */
function packageOf(path: string): string {
  const parts = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length).split("/");
  return parts[0]?.startsWith("@") === true ? `${parts[0]}/${parts[1] ?? ""}` : (parts[0] ?? path);
}

function shortLocation(path: string, origin: CodeOrigin, repoRoot: string): string {
  if (origin === "node_modules")
    return path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
  if (path.startsWith(`${repoRoot}/`)) return path.slice(repoRoot.length + 1);
  return path;
}

/** The samples taken inside `window` (all of them without one or without timestamps). */
function samplesIn(profile: CpuProfile, window: ProfileWindow | undefined): readonly number[] {
  const deltas = profile.timeDeltas;
  if (window === undefined || deltas === undefined) return profile.samples;
  let at = profile.startTime;
  return profile.samples.filter((_, index) => {
    at += deltas[index] ?? 0;
    return at >= window.startMicros && at <= window.endMicros;
  });
}

export interface SummaryOptions {
  readonly repoRoot: string;
  /** Frames under it (and outside node_modules) are the app's. */
  readonly appRoot: string;
  /** Only the samples inside it count (say, the measured load, without start-up). */
  readonly window?: ProfileWindow;
  /** Maps frames of generated code back to their sources. */
  readonly locate?: SourceLocator;
}

/**
 * Self time per function (samples x mean sampling interval), grouped by function name and
 * `file:line`, so the same function reached through different call paths adds up.
 */
export function summarizeProfile(
  profile: CpuProfile,
  { repoRoot, appRoot, window, locate }: SummaryOptions,
): ProfileSummary {
  const samples = samplesIn(profile, window);
  const profileMs = (profile.endTime - profile.startTime) / 1_000;
  const intervalMs = profile.samples.length === 0 ? 0 : profileMs / profile.samples.length;
  const wallMs = samples.length * intervalMs;
  const hits = new Map<number, number>();
  for (const id of samples) hits.set(id, (hits.get(id) ?? 0) + 1);

  const byKey = new Map<string, { name: string; location: string; origin: CodeOrigin; selfMs: number }>();
  const byOrigin: Record<CodeOrigin, number> = { app: 0, node_modules: 0, node: 0, native: 0 };
  const byPackage = new Map<string, number>();
  let idleMs = 0;
  for (const { id, callFrame } of profile.nodes) {
    const count = hits.get(id);
    if (count === undefined) continue;
    const selfMs = count * intervalMs;
    if (callFrame.functionName === "(idle)") {
      idleMs += selfMs;
      continue;
    }
    const generatedPath = pathOf(callFrame.url);
    const source =
      generatedPath !== "" && callFrame.lineNumber >= 0
        ? locate?.(generatedPath, callFrame.lineNumber, callFrame.columnNumber ?? 0)
        : undefined;
    const path = source?.path ?? generatedPath;
    const lineNumber = source?.line ?? callFrame.lineNumber;
    const origin = originOf(path, appRoot);
    const line = lineNumber >= 0 ? `:${lineNumber + 1}` : "";
    const location = path === "" ? "" : `${shortLocation(path, origin, repoRoot)}${line}`;
    const name = callFrame.functionName === "" ? "(anonymous)" : callFrame.functionName;
    const key = `${name}\u0000${location}`;
    const entry = byKey.get(key) ?? { name, location, origin, selfMs: 0 };
    entry.selfMs += selfMs;
    byKey.set(key, entry);
    byOrigin[origin] += selfMs;
    if (origin === "node_modules")
      byPackage.set(packageOf(path), (byPackage.get(packageOf(path)) ?? 0) + selfMs);
  }
  const busyMs = wallMs - idleMs;
  const functions = [...byKey.values()].sort((a, b) => b.selfMs - a.selfMs);
  const packages = [...byPackage.entries()]
    .map(([name, selfMs]) => ({ name, selfMs }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { wallMs, idleMs, busyMs, byOrigin, byPackage: packages, functions };
}

const percent = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(1) : "0.0"} %`;

const ORIGIN_LABEL: Readonly<Record<CodeOrigin, string>> = {
  app: "app (app-image/src)",
  node_modules: "node_modules",
  node: "node internals (node:*)",
  native: "native (GC, C++, program)",
};

/**
 * The summary as text: time split by origin, top packages, then the top `count` functions; with
 * `requests` (served inside the profiled window), each also as CPU microseconds per request.
 */
export function formatSummary(summary: ProfileSummary, count: number, requests?: number): string {
  const { busyMs } = summary;
  const perRequest = (ms: number) =>
    requests === undefined || requests === 0
      ? ""
      : `  ${((ms * 1_000) / requests).toFixed(1).padStart(7)} µs/req`;
  const lines = [
    `wall ${summary.wallMs.toFixed(0)} ms, busy ${busyMs.toFixed(0)} ms (${percent(busyMs, summary.wallMs)}), idle ${summary.idleMs.toFixed(0)} ms${perRequest(busyMs)}`,
    "",
    "self time by origin (share of busy time):",
    ...(Object.keys(ORIGIN_LABEL) as CodeOrigin[]).map(
      (origin) =>
        `  ${ORIGIN_LABEL[origin].padEnd(26)} ${summary.byOrigin[origin].toFixed(0).padStart(7)} ms  ${percent(summary.byOrigin[origin], busyMs).padStart(7)}${perRequest(summary.byOrigin[origin])}`,
    ),
    "",
    "top packages by self time:",
    ...summary.byPackage
      .slice(0, 8)
      .map(
        ({ name, selfMs }) =>
          `  ${name.padEnd(26)} ${selfMs.toFixed(0).padStart(7)} ms  ${percent(selfMs, busyMs).padStart(7)}${perRequest(selfMs)}`,
      ),
    "",
    `top ${count} functions by self time:`,
    `  ${"#".padStart(2)}  ${"self ms".padStart(8)}  ${"share".padStart(7)}  ${"origin".padEnd(12)}  function  (location)`,
    ...summary.functions
      .slice(0, count)
      .map(
        (fn, index) =>
          `  ${String(index + 1).padStart(2)}  ${fn.selfMs.toFixed(1).padStart(8)}  ${percent(fn.selfMs, busyMs).padStart(7)}  ${fn.origin.padEnd(12)}  ${fn.name}${fn.location === "" ? "" : `  (${fn.location})`}${perRequest(fn.selfMs)}`,
      ),
  ];
  return lines.join("\n");
}
