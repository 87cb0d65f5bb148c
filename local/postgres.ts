// A throwaway PostgreSQL primary with a streaming hot-standby replica, on loopback ports, for the
// API tests and the benchmark. PostgreSQL refuses to run as root, so as root the binaries run as an
// unprivileged system user that owns the temp dir.
import { ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { freePort, removeTempDir, stopChild, trackChild, trackTempDir, waitFor } from "./processes";

export interface PostgresPair {
  readonly primaryUrl: string;
  readonly replicaUrl: string;
  /** Stops WAL replay on the replica, so it lags behind the primary until `resumeReplay`. */
  pauseReplay(): Promise<void>;
  /** Resumes WAL replay and waits until the replica has replayed everything the primary wrote. */
  resumeReplay(): Promise<void>;
  /**
   * Freezes the replica's WAL receiver (SIGSTOP): the replica lags without knowing it, as behind a
   * slow network; what it received is replayed, so a freshness check against its own receive
   * position calls it fresh. `resumeReplay` ends it.
   */
  pauseStreaming(): Promise<void>;
  stop(): Promise<void>;
}

/** A server certificate and its key, PEM, for PostgreSQL's ssl=on. */
export interface ServerTls {
  readonly certificatePem: string;
  readonly keyPem: string;
}

export interface PostgresPairOptions {
  /** Both servers offer TLS with this certificate (they still accept plaintext, as pg_hba allows). */
  readonly tls?: ServerTls;
}

interface Owner {
  readonly uid: number;
  readonly gid: number;
}

const SERVER_SETTINGS = {
  listen_addresses: "127.0.0.1",
  unix_socket_directories: "",
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  wal_level: "replica",
  max_wal_senders: "5",
  hot_standby: "on",
  max_connections: "300",
  // Keeps a paused replica from cancelling its own queries while the primary moves on.
  max_standby_streaming_delay: "-1",
};

function postgresBinary(name: string): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const newest = readdirSync(root)
      .filter((entry) => /^\d+$/.test(entry))
      .sort((a, b) => Number(b) - Number(a))
      .find((version) => existsSync(join(root, version, "bin", name)));
    if (newest !== undefined) return join(root, newest, "bin", name);
  }
  return name; // fall back to PATH
}

function idOf(user: string): Owner | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

function unprivilegedOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const owner = idOf("postgres") ?? idOf("nobody");
  if (owner === undefined) throw new Error("running as root and neither user postgres nor nobody exists");
  return owner;
}

function runTool(binary: string, args: string[], owner: Owner | undefined, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      postgresBinary(binary),
      args,
      { cwd, env: { PATH: process.env.PATH, HOME: cwd, LC_ALL: "C" }, uid: owner?.uid, gid: owner?.gid },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`${binary} failed: ${error.message}\n${stderr}`)) : resolve(),
    );
  });
}

export const postgresUrl = (port: number, database = "postgres"): string =>
  `postgres://postgres@127.0.0.1:${port}/${database}`;

export async function queryOnce<R extends object = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

/**
 * Writes the certificate and key where PostgreSQL looks by default (server.crt and server.key in the
 * data directory, which the replica's base backup copies too); the key must be the server user's, 0600.
 */
function installServerTls(dataDir: string, { certificatePem, keyPem }: ServerTls, owner: Owner | undefined) {
  for (const [file, pem] of [
    ["server.crt", certificatePem],
    ["server.key", keyPem],
  ] as const) {
    const path = join(dataDir, file);
    writeFileSync(path, pem, { mode: 0o600 });
    if (owner !== undefined) chownSync(path, owner.uid, owner.gid);
  }
}

async function startServer(
  dataDir: string,
  logFile: string,
  owner: Owner | undefined,
  cwd: string,
  tls: boolean,
): Promise<Server> {
  const port = await freePort();
  const settings = Object.entries({ ...SERVER_SETTINGS, ssl: tls ? "on" : "off" }).flatMap(([key, value]) => [
    "-c",
    `${key}=${value}`,
  ]);
  const log = openSync(logFile, "a");
  const child = spawn(postgresBinary("postgres"), ["-D", dataDir, "-p", String(port), ...settings], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, LC_ALL: "C" },
    uid: owner?.uid,
    gid: owner?.gid,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  trackChild(child, "SIGQUIT");
  const url = postgresUrl(port);
  await waitFor(
    `PostgreSQL on port ${port} to accept queries`,
    async () => {
      if (child.exitCode !== null) {
        throw new Error(`postgres exited with ${child.exitCode}:\n${readFileSync(logFile, "utf8")}`);
      }
      await queryOnce(url, "SELECT 1");
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return { child, url };
}

export async function startPostgresPair(options: PostgresPairOptions = {}): Promise<PostgresPair> {
  const owner = unprivilegedOwner();
  const dir = mkdtempSync(join(tmpdir(), "pg-pair-"));
  trackTempDir(dir);
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const servers: Server[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map(({ child }) => stopChild(child, "SIGQUIT", 10_000)));
    removeTempDir(dir);
  };
  try {
    const primaryDir = join(dir, "primary");
    const replicaDir = join(dir, "replica");
    await runTool(
      "initdb",
      ["-D", primaryDir, "-U", "postgres", "--auth=trust", "--no-sync", "--no-locale", "-E", "UTF8"],
      owner,
      dir,
    );
    if (options.tls !== undefined) installServerTls(primaryDir, options.tls, owner);
    const tls = options.tls !== undefined;
    const primary = await startServer(primaryDir, join(dir, "primary.log"), owner, dir, tls);
    servers.push(primary);
    const primaryPort = new URL(primary.url).port;
    await runTool(
      "pg_basebackup",
      ["-h", "127.0.0.1", "-p", primaryPort, "-U", "postgres", "-D", replicaDir, "-R", "-X", "stream", "-N"],
      owner,
      dir,
    );
    const replica = await startServer(replicaDir, join(dir, "replica.log"), owner, dir, tls);
    servers.push(replica);
    await waitFor("the replica to stream from the primary", async () => {
      const rows = await queryOnce<{ n: number }>(
        primary.url,
        "SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'",
      );
      return rows[0].n > 0 ? true : undefined;
    });
    let frozenReceiver: number | undefined;
    return {
      primaryUrl: primary.url,
      replicaUrl: replica.url,
      pauseReplay: async () => {
        await queryOnce(replica.url, "SELECT pg_wal_replay_pause()");
      },
      pauseStreaming: async () => {
        const [receiver] = await queryOnce<{ pid: number }>(
          replica.url,
          "SELECT pid FROM pg_stat_wal_receiver",
        );
        if (receiver === undefined) throw new Error("the replica has no WAL receiver");
        frozenReceiver = receiver.pid;
        process.kill(frozenReceiver, "SIGSTOP");
      },
      resumeReplay: async () => {
        if (frozenReceiver !== undefined) process.kill(frozenReceiver, "SIGCONT");
        frozenReceiver = undefined;
        await queryOnce(replica.url, "SELECT pg_wal_replay_resume()");
        const [{ lsn }] = await queryOnce<{ lsn: string }>(
          primary.url,
          "SELECT pg_current_wal_lsn()::text AS lsn",
        );
        await waitFor("the replica to catch up after replay resumed", async () => {
          const [{ caughtUp }] = await queryOnce<{ caughtUp: boolean }>(
            replica.url,
            'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS "caughtUp"',
            [lsn],
          );
          return caughtUp ? true : undefined;
        });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
