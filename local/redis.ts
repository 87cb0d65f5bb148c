// A throwaway redis-server on a loopback port that can be stopped, frozen and brought back on the
// same port, to exercise the API's "Redis is never required" guarantee.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { connect } from "node:net";
import { freePort, stopChild, trackChild, waitFor } from "./processes";

export interface RedisServer {
  /** `redis://[:password@]127.0.0.1:port` */
  readonly url: string;
  readonly port: number;
  /** Shuts the server down (its data is lost); `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the port still accepts connections but nothing answers, like a hung server. */
  freeze(): void;
  thaw(): void;
}

function assertRedisInstalled(): void {
  const probe = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  if (probe.error !== undefined) {
    throw new Error("redis-server not found: apt-get install -y redis-server");
  }
}

/** Sends PING (after AUTH when needed) and resolves to whether the reply was PONG. */
function pings(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.includes("+PONG")) finish(true);
      else if (reply.includes("-")) finish(false);
    });
    socket.on("connect", () => {
      const auth = password === undefined ? "" : `AUTH ${password}\r\n`;
      socket.write(`${auth}PING\r\n`);
    });
  });
}

export async function startRedis(opts: { password?: string } = {}): Promise<RedisServer> {
  assertRedisInstalled();
  const port = await freePort();
  const { password } = opts;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (password !== undefined) args.push("--requirepass", password);
  let child: ChildProcess | undefined;
  let stderr = "";

  const start = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) return;
    stderr = "";
    const started = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    started.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    trackChild(started);
    child = started;
    await waitFor(`redis-server on port ${port}`, async () => {
      if (started.exitCode !== null)
        throw new Error(`redis-server exited with ${started.exitCode}: ${stderr}`);
      return (await pings(port, password)) ? true : undefined;
    });
  };

  const stop = async (): Promise<void> => {
    if (child !== undefined) await stopChild(child, "SIGTERM", 5_000);
  };

  await start();
  const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    start,
    stop,
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
  };
}
