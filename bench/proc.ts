// What the kernel knows about a server process: CPU time from /proc/<pid>/stat, memory from
// /proc/<pid>/status, and CPU pinning through taskset. Linux only, like the containers it models.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

let clockTicksPerSecond: number | undefined;

function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    const probe = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const ticks = Number(probe.stdout?.trim());
    clockTicksPerSecond = Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  }
  return clockTicksPerSecond;
}

/** User + system CPU seconds the process has used so far (its threads included). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return (userTicks + systemTicks) / clockTicks();
}

function statusFieldMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (match === null) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]) / 1024;
}

export const rssMiB = (pid: number): number => statusFieldMiB(pid, "VmRSS");
export const peakRssMiB = (pid: number): number => statusFieldMiB(pid, "VmHWM");

/** Samples the RSS of `pid` until stopped; `stop()` returns the highest sample in MiB. */
export function sampleRss(pid: number, intervalMs = 250): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the process is gone; the samples taken so far stand
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

export interface CpuPlan {
  /** CPU the measured server runs on alone, or null when the machine is too small to split. */
  readonly serverCpu: number | null;
  /** CPU for everything else (this process, the load generator, PostgreSQL, Redis). */
  readonly loadCpu: number | null;
}

/**
 * A replica gets one vCPU in production (app.cpu "1"), so the server under test runs alone on CPU 0
 * and everything else on the other CPUs: the measured requests/s are then "per vCPU" and the load
 * generator does not steal from the server. Needs taskset and at least two CPUs.
 */
export function planCpus(pin: boolean): CpuPlan {
  const available = cpus().length;
  const hasTaskset = spawnSync("taskset", ["--version"], { stdio: "ignore" }).error === undefined;
  if (!pin || available < 2 || !hasTaskset) return { serverCpu: null, loadCpu: null };
  return { serverCpu: 0, loadCpu: 1 };
}

/** Moves every thread of this process to the load CPUs; children spawned later inherit it. */
export function pinThisProcess(plan: CpuPlan): void {
  if (plan.loadCpu === null) return;
  const loadCpus = Array.from({ length: cpus().length - 1 }, (_, index) => index + 1).join(",");
  execFileSync("taskset", ["-a", "-p", "-c", loadCpus, String(process.pid)], { stdio: "ignore" });
}

/** The command line that runs `file args` on the server CPU (taskset execs, so the pid is the server's). */
export function pinnedCommand(plan: CpuPlan, file: string, args: string[]): { file: string; args: string[] } {
  if (plan.serverCpu === null) return { file, args };
  return { file: "taskset", args: ["-c", String(plan.serverCpu), file, ...args] };
}
