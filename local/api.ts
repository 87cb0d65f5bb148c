// Starts the built API (app-image/dist/main.js, the image's CMD) as a child process, the way a container runs it.
import { ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { API_ENVIRONMENT } from "../app-image/src/environment";
import { ExitResult, exitOf, freePort, stopChild, trackChild, waitFor } from "./processes";

export const REPO_ROOT = resolve(__dirname, "..");
export const APP_DIR = join(REPO_ROOT, "app-image");
export const SERVER_SCRIPT = join(APP_DIR, "dist", "main.js");

/** Every variable the API reads; none of them leaks in from the environment of the test run. */
const API_VARIABLES = [...Object.keys(API_ENVIRONMENT), "NODE_ENV"];

export type ApiEnv = Record<string, string | undefined>;

export interface ApiProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number;
  /** stdout, one entry per line, appended as the process writes. */
  readonly logs: string[];
  stderr(): string;
  /** Whether the process has not exited yet. */
  running(): boolean;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitResult>;
  readonly exited: Promise<ExitResult>;
}

interface SpawnedApi {
  readonly child: ChildProcess;
  readonly logs: string[];
  readonly stderr: () => string;
  /** Resolves once the process exited and its output streams are drained. */
  readonly closed: Promise<void>;
}

export interface Command {
  readonly cwd: string;
  readonly file: string;
  readonly args: string[];
}

/**
 * Set by CI's image job to a built image of app-image/: the API then runs as that container instead
 * of `node app-image/dist/main.js`, so the same tests check the shipped image. Host network, so it
 * reaches the PostgreSQL and Redis that the tests start on loopback; `-e NAME` hands the container
 * each variable the test sets for the API, nothing else of the test run's environment; docker run
 * forwards SIGTERM and returns the container's exit code.
 */
const API_IMAGE = process.env.API_IMAGE;

function builtServer(env: ApiEnv): Command {
  if (API_IMAGE !== undefined && API_IMAGE !== "") {
    const variables = Object.keys(env).filter((name) => env[name] !== undefined);
    const args = ["run", "--rm", "--network=host", ...variables.flatMap((name) => ["-e", name]), API_IMAGE];
    return { cwd: REPO_ROOT, file: "docker", args };
  }
  if (!existsSync(SERVER_SCRIPT)) {
    throw new Error(`${SERVER_SCRIPT} is missing: run npm --prefix app-image run build`);
  }
  return { cwd: REPO_ROOT, file: process.execPath, args: [SERVER_SCRIPT] };
}

function spawnApi(env: ApiEnv, { cwd, file, args }: Command): SpawnedApi {
  const inherited = { ...process.env };
  for (const name of API_VARIABLES) delete inherited[name];
  const child = spawn(file, args, { cwd, env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  const closed = new Promise<void>((resolveClose) => child.once("close", () => resolveClose()));
  const logs: string[] = [];
  let stderr = "";
  if (child.stdout !== null) createInterface({ input: child.stdout }).on("line", (line) => logs.push(line));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return { child, logs, stderr: () => stderr, closed };
}

export interface StartApiOptions {
  /** Also wait for `/readyz` 200 (the primary answers), not only `/healthz`. */
  readonly waitReady?: boolean;
  readonly timeoutMs?: number;
  /** Run another command than `node app-image/dist/main.js`, e.g. a replayed container's CMD. */
  readonly command?: Command;
}

async function statusOf(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

export async function startApi(env: ApiEnv, options: StartApiOptions = {}): Promise<ApiProcess> {
  const port = await freePort();
  const apiEnv = { ...env, PORT: String(port) };
  const { child, logs, stderr } = spawnApi(apiEnv, options.command ?? builtServer(apiEnv));
  const baseUrl = `http://127.0.0.1:${port}`;
  const exited = exitOf(child);
  const stop = (signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) =>
    stopChild(child, signal, timeoutMs);
  try {
    const paths = options.waitReady === true ? ["/healthz", "/readyz"] : ["/healthz"];
    for (const path of paths) {
      await waitFor(
        `${path} 200 from the API on port ${port}`,
        async () => {
          if (child.exitCode !== null) {
            throw new Error(`the API exited with ${child.exitCode}\n${stderr()}\n${logs.join("\n")}`);
          }
          return (await statusOf(baseUrl + path)) === 200 ? true : undefined;
        },
        { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100 },
      );
    }
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  const running = () => child.exitCode === null && child.signalCode === null;
  return { baseUrl, port, pid: child.pid ?? -1, logs, stderr, running, stop, exited };
}

export interface ExitedApi extends ExitResult {
  /** Non-empty lines of stdout and stderr together. */
  readonly outputLines: string[];
}

/** Runs the API with a configuration that must make it exit; fails if it still runs after `timeoutMs`. */
export async function runApiUntilExit(env: ApiEnv, timeoutMs = 15_000): Promise<ExitedApi> {
  const { child, logs, stderr, closed } = spawnApi(env, builtServer(env));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const result = await exitOf(child);
  clearTimeout(timer);
  if (result.signal === "SIGKILL") throw new Error(`the API was still running after ${timeoutMs} ms`);
  await closed;
  const outputLines = [...logs, ...stderr().split("\n")]
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return { ...result, outputLines };
}
