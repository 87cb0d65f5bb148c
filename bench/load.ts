// Drives one server with autocannon (in this process, on the load CPU) for a warm-up and a measured
// window, and reads the server's CPU time and memory from /proc around the measured window.
import autocannon from "autocannon";
import { cpuSecondsOf, sampleRss } from "./proc";
import type { LoadFigures } from "./results";

export interface LoadSettings {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
}

export interface LoadTarget {
  readonly label: string;
  readonly baseUrl: string;
  readonly pid: number;
  /** The requests connection `connection` of `connections` sends in a loop. */
  readonly requestsFor: (connection: number, connections: number) => autocannon.Request[];
}

/** One line on stderr, rewritten in place on a terminal, every 5 s otherwise (log files stay short). */
function progressLine(label: string, phase: string, totalSeconds: number) {
  const started = Date.now();
  const interactive = process.stderr.isTTY;
  let lastPrinted = 0;
  return {
    tick(requestsLastSecond: number) {
      const elapsed = Math.round((Date.now() - started) / 1000);
      const line = `[${label}] ${phase} ${elapsed}/${totalSeconds} s, ${requestsLastSecond} rps`;
      if (interactive) process.stderr.write(`\r${line.padEnd(70)}`);
      else if (elapsed - lastPrinted >= 5) {
        lastPrinted = elapsed;
        process.stderr.write(`${line}\n`);
      }
    },
    done() {
      if (interactive) process.stderr.write(`\r${" ".repeat(70)}\r`);
    },
  };
}

function runAutocannon(
  target: LoadTarget,
  connections: number,
  seconds: number,
  phase: string,
): Promise<autocannon.Result> {
  const progress = progressLine(target.label, phase, seconds);
  let nextConnection = 0;
  const setupClient = (client: autocannon.Client) =>
    client.setRequests(target.requestsFor(nextConnection++, connections));
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: target.baseUrl, connections, duration: seconds, setupClient },
      (error: unknown, result: autocannon.Result) => {
        progress.done();
        if (error instanceof Error) reject(error);
        else if (error) reject(new Error(`autocannon failed: ${JSON.stringify(error)}`));
        else resolve(result);
      },
    );
    // autocannon passes the counters of the last second with "tick"; its typings omit the argument.
    instance.on("tick", (...args: unknown[]) => {
      const counters = args[0] as { counter?: number } | undefined;
      progress.tick(counters?.counter ?? 0);
    });
  });
}

/** Load without measuring: JIT, caches and connection pools settle before the measured window. */
export async function warmUp(target: LoadTarget, settings: LoadSettings): Promise<void> {
  if (settings.warmupSeconds > 0) {
    await runAutocannon(target, settings.connections, settings.warmupSeconds, "warm-up");
  }
}

/** The measured window: autocannon's figures plus the server's CPU seconds and peak RSS. */
export async function measureLoad(target: LoadTarget, settings: LoadSettings): Promise<LoadFigures> {
  const cpuBefore = cpuSecondsOf(target.pid);
  const rss = sampleRss(target.pid);
  const result = await runAutocannon(target, settings.connections, settings.durationSeconds, "measure");
  const peakRssMiB = rss.stop();
  const cpuSeconds = cpuSecondsOf(target.pid) - cpuBefore;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stats.count ?? 0;
  const { latency } = result;
  return {
    connections: settings.connections,
    durationSeconds: result.duration,
    requests: result.requests.total,
    rps: result["2xx"] / result.duration,
    latencyMs: {
      mean: latency.mean,
      p50: latency.p50,
      p90: latency.p90,
      p99: latency.p99,
      p99_9: latency.p99_9,
      max: latency.max,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    server: { cpuSeconds, cpuUtilization: cpuSeconds / result.duration, peakRssMiB },
  };
}
