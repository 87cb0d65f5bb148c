// Process bookkeeping shared by the test harness and the benchmark: every child a helper spawns is
// registered here so that it dies with the Node process even when a test or a benchmark crashes.
import { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";

interface TrackedChild {
  readonly child: ChildProcess;
  /** Signal that stops the child at once without leaving shared state behind (SIGQUIT for PostgreSQL). */
  readonly emergencySignal: NodeJS.Signals;
}

const children = new Set<TrackedChild>();
const tempDirs = new Set<string>();
let exitHandlerInstalled = false;

function killEverythingNow(): void {
  for (const { child, emergencySignal } of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGCONT"); // a stopped process would not act on the next signal
        process.kill(child.pid, emergencySignal);
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.clear();
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.once("exit", killEverythingNow);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killEverythingNow();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

/** Kills whatever a test left running (SIGKILL after 5 s) so the test runner can exit. */
export async function stopLeftoverChildren(): Promise<void> {
  await Promise.all(
    [...children].map(({ child, emergencySignal }) => stopChild(child, emergencySignal, 5_000)),
  );
}

export function trackChild(child: ChildProcess, emergencySignal: NodeJS.Signals = "SIGKILL"): void {
  installExitHandler();
  const entry = { child, emergencySignal };
  children.add(entry);
  child.once("exit", () => children.delete(entry));
}

export function trackTempDir(dir: string): void {
  installExitHandler();
  tempDirs.add(dir);
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.delete(dir);
}

export interface ExitResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Resolves once the child has exited; safe to call after the fact. */
export function exitOf(child: ChildProcess): Promise<ExitResult> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<ExitResult> {
  const exited = exitOf(child);
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGCONT");
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("could not read the port of a probe listener"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns a value other than `undefined`; throws after `timeoutMs` with the
 * description and the last error the probe threw, so a failing wait says what it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 15_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await delay(intervalMs);
  }
}
