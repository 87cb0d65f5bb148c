// Empties Redis on a timer while the cache-miss scenario runs, over one raw RESP connection (the
// root package has no Redis client, and FLUSHALL is one inline command).
import { connect, Socket } from "node:net";

export interface Flusher {
  /** Sends one FLUSHALL and waits for its +OK. */
  flushNow(): Promise<void>;
  /** Sends FLUSHALL every `intervalMs` until `stopTimer`. */
  startTimer(intervalMs: number): void;
  stopTimer(): void;
  close(): void;
}

export async function connectFlusher(redisUrl: string): Promise<Flusher> {
  const url = new URL(redisUrl);
  const socket: Socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  let buffered = "";
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let end: number;
    while ((end = buffered.indexOf("\r\n")) >= 0) {
      const reply = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const waiter = waiting.shift();
      if (reply.startsWith("-")) waiter?.reject(new Error(`Redis answered ${reply}`));
      else waiter?.resolve();
    }
  });
  const send = (command: string) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ resolve, reject });
      socket.write(`${command}\r\n`);
    });
  if (url.password !== "") await send(`AUTH ${decodeURIComponent(url.password)}`);
  let timer: NodeJS.Timeout | undefined;
  const stopTimer = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  return {
    flushNow: () => send("FLUSHALL"),
    startTimer: (intervalMs) => {
      stopTimer();
      timer = setInterval(() => {
        send("FLUSHALL").catch((error: unknown) =>
          process.stderr.write(`FLUSHALL failed: ${String(error)}\n`),
        );
      }, intervalMs);
    },
    stopTimer,
    close: () => {
      stopTimer();
      socket.destroy();
    },
  };
}
