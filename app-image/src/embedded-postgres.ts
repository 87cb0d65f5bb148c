import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import type { Logger } from "./logging";

/** A local PostgreSQL for `npm run api` without DATABASE_URL; never used in the container image. */
export interface EmbeddedPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

/** Why no embedded PostgreSQL could be started; the message is meant to be read as is. */
export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
}

const SUPERUSER = "items_api";
const PORT = 5432;
// PostgreSQL refuses to run as root; as root, the server runs as this user, in its home.
const UNPRIVILEGED_USER = "postgres";

function findBinDir(): string {
  const candidates = (process.env["PATH"] ?? "").split(":").filter(Boolean);
  const installRoot = "/usr/lib/postgresql";
  if (existsSync(installRoot)) {
    const majors = readdirSync(installRoot)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((major) => join(installRoot, major, "bin")));
  }
  const binDir = candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
  if (!binDir) {
    throw new EmbeddedPostgresError(
      "DATABASE_URL is unset and no PostgreSQL binaries (initdb, pg_ctl) were found on PATH or in " +
        "/usr/lib/postgresql/*/bin: install PostgreSQL or set DATABASE_URL",
    );
  }
  return binDir;
}

/** The user to run PostgreSQL as (undefined: this process's user) and that user's cache directory. */
function serverAccount(): { user: string | undefined; cacheHome: string } {
  if (process.getuid?.() !== 0) {
    return { user: undefined, cacheHome: process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache") };
  }
  let home: string | undefined;
  try {
    home = execFileSync("getent", ["passwd", UNPRIVILEGED_USER], { encoding: "utf8" }).split(":")[5];
  } catch {
    home = undefined;
  }
  if (!home) {
    throw new EmbeddedPostgresError(
      `running as root, and PostgreSQL refuses to: create a "${UNPRIVILEGED_USER}" user to run it as, or set DATABASE_URL`,
    );
  }
  return { user: UNPRIVILEGED_USER, cacheHome: join(home.trim(), ".cache") };
}

function run(user: string | undefined, command: string, args: readonly string[]): Promise<string> {
  const [file, argv] = user ? ["runuser", ["-u", user, "--", command, ...args]] : [command, [...args]];
  return new Promise((resolve, reject) => {
    // Own session: a Ctrl-C in the terminal reaches the API, which stops PostgreSQL after draining.
    const child = spawn(file, argv, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) =>
      reject(new EmbeddedPostgresError(`${basename(file)} failed: ${error.message}`)),
    );
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new EmbeddedPostgresError(`${basename(command)} failed: ${(stderr || stdout).trim()}`));
    });
  });
}

/**
 * Starts (initialising on first use) a PostgreSQL in `<cache>/items-api/postgres/<major>`, listening
 * only on a unix socket in that directory, and returns its URL. The same directory is reused by
 * later runs; `stop` shuts the server down.
 */
export async function startEmbeddedPostgres(log: Logger): Promise<EmbeddedPostgres> {
  const binDir = findBinDir();
  const { user, cacheHome } = serverAccount();
  const pgCtl = join(binDir, "pg_ctl");
  const major = /\(PostgreSQL\) (\d+)/.exec(await run(user, pgCtl, ["--version"]))?.[1] ?? "unknown";
  const dataDir = join(cacheHome, "items-api", "postgres", major);

  const initialise = !existsSync(join(dataDir, "PG_VERSION"));
  if (initialise) {
    await run(user, "mkdir", ["-p", dataDir]);
    await run(user, join(binDir, "initdb"), [
      "--pgdata",
      dataDir,
      "--username",
      SUPERUSER,
      "--auth",
      "trust",
      "--encoding",
      "UTF8",
      "--no-locale",
    ]);
    // Trust authentication is safe because there is no TCP listener, only a socket in a 0700 directory.
    appendFileSync(
      join(dataDir, "postgresql.conf"),
      `\nlisten_addresses = ''\nunix_socket_directories = '${dataDir}'\nport = ${PORT}\n`,
    );
  }
  const alreadyRunning = await run(user, pgCtl, ["status", "--pgdata", dataDir]).then(
    () => true,
    () => false,
  );
  if (!alreadyRunning) {
    await run(user, pgCtl, ["start", "--pgdata", dataDir, "--log", join(dataDir, "server.log"), "--wait"]);
  }
  log.info(
    { dataDir, runAs: user ?? "current user", initialised: initialise, alreadyRunning },
    `DATABASE_URL is unset: using an embedded PostgreSQL ${major} in ${dataDir}`,
  );
  return {
    url: `postgresql://${SUPERUSER}@localhost:${PORT}/postgres?host=${encodeURIComponent(dataDir)}`,
    stop: async () => {
      await run(user, pgCtl, ["stop", "--pgdata", dataDir, "--mode", "fast", "--wait"]);
      log.info({ dataDir }, "embedded PostgreSQL stopped");
    },
  };
}
