// Starts a server under test (the API or the bare baseline) the way the benchmark needs it: pinned to
// the server CPU, stdout and stderr going to a file (a pipe nobody drains would stall a logging server,
// and one that is drained in this process would cost the load generator CPU), its real pid known.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import { ExitResult, freePort, stopChild, trackChild } from "../local/processes";
import { CpuPlan, pinnedCommand } from "./proc";

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  readonly baseUrl: string;
  /** Milliseconds from spawn to the first 200 on the readiness path. */
  readonly readyMs: number;
  stop(signal?: NodeJS.Signals): Promise<ExitResult>;
}

export interface ServerSpec {
  readonly script: string;
  /** Flags for node itself, before the script (e.g. --cpu-prof, which NODE_OPTIONS does not accept). */
  readonly nodeArgs?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Path that answers 200 once the server can take traffic. */
  readonly readyPath: string;
  readonly logFile: string;
  readonly cpus: CpuPlan;
  readonly timeoutMs?: number;
}

/** Status of one GET on a fresh connection, or undefined when nothing answered. */
function statusOf(port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const port = await freePort();
  const { file, args } = pinnedCommand(spec.cpus, process.execPath, [...(spec.nodeArgs ?? []), spec.script]);
  const log = openSync(spec.logFile, "a");
  const started = performance.now();
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH ?? "", ...spec.env, PORT: String(port) },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  trackChild(child);
  const stop = (signal: NodeJS.Signals = "SIGTERM") => stopChild(child, signal, 15_000);
  const deadline = started + (spec.timeoutMs ?? 30_000);
  // Polled every 5 ms: start-up is one of the figures, so the poll interval must not dominate it.
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${spec.script} exited during start-up:\n${readFileSync(spec.logFile, "utf8").slice(-2_000)}`,
      );
    }
    if ((await statusOf(port, spec.readyPath)) === 200) break;
    if (performance.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(
        `${spec.script} did not answer 200 on ${spec.readyPath} within ${spec.timeoutMs ?? 30_000} ms`,
      );
    }
    await pause(5);
  }
  const readyMs = performance.now() - started;
  if (child.pid === undefined) throw new Error(`${spec.script} has no pid`);
  return { pid: child.pid, port, baseUrl: `http://127.0.0.1:${port}`, readyMs, stop };
}
