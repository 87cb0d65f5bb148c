// Replays a Dockerfile without Docker: every stage's filesystem root is a folder, COPY copies from a
// clean copy of the build context (git-visible files minus .dockerignore) or from an earlier stage,
// RUN runs on the host with `sh -c` in the mapped WORKDIR. Enough to prove that the build steps, the
// COPY paths and the runtime dependencies of a Node image are right, which is what can break.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { trackChild } from "../../local/processes";

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = "";
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (pending === "" && (trimmed === "" || trimmed.startsWith("#"))) return;
    if (pending !== "" && trimmed.startsWith("#")) return; // comment lines inside a continuation
    if (pending === "") startLine = index + 1;
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1)} `;
      return;
    }
    const full = (pending + trimmed).trim();
    pending = "";
    if (full === "") return;
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match === null) return;
    if (/<<-?\s*["']?\w/.test(match[2]) && /^(RUN|COPY)$/i.test(match[1])) {
      throw new Error(`Dockerfile line ${startLine}: heredocs are not supported by the replay`);
    }
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2], line: startLine });
  });
  const stages: Stage[] = [];
  const globalArgs: Instruction[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const [base, as, name] = instruction.args.replace(/--platform=\S+\s+/, "").split(/\s+/);
      stages.push({
        base,
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: [...globalArgs],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG")
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
      globalArgs.push(instruction);
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new Error("the Dockerfile has no FROM");
  return stages;
}

/** `["a", "b"]` (exec form) → array; anything else → undefined (shell form). */
function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string")) {
    throw new Error(`malformed exec form: ${args}`);
  }
  return parsed;
}

/** Shell-like words: whitespace-separated, with "double" and 'single' quotes and backslash escapes. */
function words(text: string): string[] {
  const result: string[] = [];
  let current = "";
  let quote: string | undefined;
  let started = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && index + 1 < text.length) current += text[++index];
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (char === "\\" && index + 1 < text.length) {
      current += text[++index];
      started = true;
    } else if (/\s/.test(char)) {
      if (started) result.push(current);
      current = "";
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) result.push(current);
  return result;
}

function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)(?::?([-+])([^}]*))?\}|\$(\w+)/g, (_, braced, operator, word, bare) => {
    const name = (braced ?? bare) as string;
    const value = vars[name];
    if (operator === "-") return value === undefined || value === "" ? (word as string) : value;
    if (operator === "+") return value === undefined || value === "" ? "" : (word as string);
    return value ?? "";
  });
}

/** KEY=value pairs (or the legacy `KEY value` form) of ENV, LABEL and ARG. */
function assignments(
  args: string,
  vars: Readonly<Record<string, string>>,
): Array<[string, string | undefined]> {
  const parts = words(args);
  if (parts.length >= 2 && !parts[0].includes("=")) {
    return [[parts[0], substitute(args.trim().slice(parts[0].length).trim(), vars)]];
  }
  return parts.map((part) => {
    const equals = part.indexOf("=");
    return equals < 0 ? [part, undefined] : [part.slice(0, equals), substitute(part.slice(equals + 1), vars)];
  });
}

const GLOBSTAR = "<globstar>";

/** Matcher for .dockerignore patterns (last match wins, `!` re-includes, a match excludes a subtree). */
function dockerignoreMatcher(contextDir: string): (relativePath: string) => boolean {
  const file = join(contextDir, ".dockerignore");
  if (!existsSync(file)) return () => false;
  const rules = readFileSync(file, "utf8")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const pattern = posix.normalize((negated ? line.slice(1) : line).trim().replace(/^\/+/, ""));
      const source = pattern
        .split("/")
        .map((segment) =>
          segment === "**"
            ? GLOBSTAR
            : segment
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/")
        .replaceAll(`${GLOBSTAR}/`, "(?:.*/)?")
        .replaceAll(GLOBSTAR, ".*");
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  return (relativePath) => {
    const segments = relativePath.split("/");
    const candidates = segments.map((_, index) => segments.slice(0, index + 1).join("/"));
    let excluded = false;
    for (const { negated, regex } of rules) {
      if (candidates.some((candidate) => regex.test(candidate))) excluded = !negated;
    }
    return excluded;
  };
}

/** The files a clean checkout would have (tracked and untracked-but-not-ignored), minus .dockerignore. */
function stageBuildContext(contextDir: string, target: string): void {
  const listed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z", "."], {
    cwd: contextDir,
    encoding: "utf8",
  });
  const ignored = dockerignoreMatcher(contextDir);
  for (const file of listed.split("\0").filter((entry) => entry !== "")) {
    if (ignored(file) || !existsSync(join(contextDir, file))) continue;
    mkdirSync(join(target, posix.dirname(file)), { recursive: true });
    cpSync(join(contextDir, file), join(target, file));
  }
}

/** Expands `*` and `?` in each segment of a container-absolute path against the folder `root`. */
function expandGlob(root: string, containerPath: string): string[] {
  let matches = ["/"];
  for (const segment of containerPath.split("/").filter((part) => part !== "" && part !== ".")) {
    if (!/[*?[]/.test(segment)) {
      matches = matches
        .map((match) => posix.join(match, segment))
        .filter((match) => existsSync(join(root, match)));
      continue;
    }
    const regex = new RegExp(
      `^${segment
        .replace(/[.+^${}()|\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    );
    matches = matches.flatMap((match) => {
      const dir = join(root, match);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
      return readdirSync(dir)
        .filter((entry) => regex.test(entry))
        .map((entry) => posix.join(match, entry));
    });
  }
  return matches;
}

export interface ReplayedImage {
  /** Host folder standing for the final stage's `/`. */
  readonly root: string;
  /** Container path of the final WORKDIR. */
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  /** Effective user: the last USER, or the base image's default when it is known to set one. */
  readonly user: string | undefined;
  readonly exposed: string[];
  /** ENTRYPOINT + CMD as the container would exec them (shell forms become `sh -c`). */
  readonly command: string[];
  /** RUN steps (or parts of them) skipped because they change the host system, not the image's files. */
  readonly skipped: string[];
  hostPath(containerPath: string): string;
}

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
  args: Record<string, string>;
  user: string | undefined;
  exposed: string[];
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
}

/** Base images whose defaults matter: distroless Node runs `node` as entrypoint, `:nonroot` as 65532. */
function baseImageState(base: string, root: string): StageState {
  const distrolessNode = /distroless\/nodejs/.test(base);
  return {
    root,
    workdir: "/",
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
    args: {},
    user: /[:-]nonroot$/.test(base) ? "nonroot" : undefined,
    exposed: [],
    entrypoint: distrolessNode ? ["/nodejs/bin/node"] : undefined,
    cmd: distrolessNode ? undefined : ["node"],
  };
}

const SYSTEM_COMMANDS = new Set([
  "apt-get",
  "apt",
  "apk",
  "adduser",
  "addgroup",
  "useradd",
  "groupadd",
  "usermod",
  "chown",
  "update-ca-certificates",
]);

interface Replay {
  readonly stages: Stage[];
  /** One promise per stage, settled when the stage is built; stages build in parallel like BuildKit. */
  readonly built: Array<Promise<StageState>>;
  readonly context: string;
  readonly workDir: string;
  readonly skipped: string[];
}

function stageIndex(stages: Stage[], ref: string): number | undefined {
  const named = stages.findIndex((stage) => stage.name?.toLowerCase() === ref.toLowerCase());
  if (named >= 0) return named;
  return /^\d+$/.test(ref) && Number(ref) < stages.length ? Number(ref) : undefined;
}

const fromFlagOf = (args: string): string | undefined => /--from=(\S+)/.exec(args)?.[1];

function runCommand(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", (error) => resolve({ code: null, output: `${output}${String(error)}` }));
    child.on("close", (code) => resolve({ code, output }));
  });
}

function copyInto(
  state: StageState,
  args: string,
  where: string,
  sourceStage: StageState | undefined,
  replay: Replay,
) {
  const vars = { ...state.args, ...state.env };
  const host = (containerPath: string) => join(state.root, posix.resolve(state.workdir, containerPath));
  const rest = args.replace(/^(\s*--\S+)+\s*/, "");
  const paths = (execForm(rest) ?? words(rest)).map((path) => substitute(path, vars));
  if (paths.length < 2) throw new Error(`${where}: needs a source and a destination`);
  const destination = paths[paths.length - 1];
  const sourceRoot = sourceStage?.root ?? replay.context;
  const sources = paths.slice(0, -1).flatMap((source) => {
    if (/^https?:\/\//.test(source)) throw new Error(`${where}: remote sources are not replayed`);
    // context paths are relative to the context root, --from paths to the stage's root
    const found = expandGlob(sourceRoot, posix.resolve("/", source));
    if (found.length === 0 && !/[*?[]/.test(source)) {
      throw new Error(
        `${where}: ${source} not found in ${sourceStage === undefined ? "the build context" : "the stage"}`,
      );
    }
    return found;
  });
  if (sources.length === 0) throw new Error(`${where}: no source files were specified`);
  const containerDestination = posix.resolve(state.workdir, destination);
  const intoDirectory =
    destination.endsWith("/") ||
    paths.length > 2 ||
    /[*?[]/.test(paths[0]) ||
    (existsSync(host(containerDestination)) && statSync(host(containerDestination)).isDirectory());
  for (const source of sources) {
    const from = join(sourceRoot, source);
    if (statSync(from).isDirectory()) {
      cpSync(from, host(containerDestination), { recursive: true, verbatimSymlinks: true });
    } else {
      const to = intoDirectory
        ? posix.join(containerDestination, posix.basename(source))
        : containerDestination;
      mkdirSync(posix.dirname(host(to)), { recursive: true });
      cpSync(from, host(to));
    }
  }
}

async function run(state: StageState, args: string, where: string, skipped: string[]): Promise<void> {
  const cwd = join(state.root, state.workdir);
  mkdirSync(cwd, { recursive: true });
  const env = {
    HOME: process.env.HOME ?? "/root",
    ...state.args,
    ...state.env,
    PATH: process.env.PATH ?? "",
  };
  const exec = execForm(args);
  if (exec !== undefined) {
    const { code, output } = await runCommand(exec[0], exec.slice(1), cwd, env);
    if (code !== 0) throw new Error(`${where} failed (${exec.join(" ")}):\n${output}`);
    return;
  }
  const kept = args
    .split(/&&|;/)
    .map((part) => part.trim())
    .filter((part) => {
      const system = SYSTEM_COMMANDS.has(words(part)[0] ?? "");
      if (system) skipped.push(part);
      return part !== "" && !system;
    })
    // container-absolute paths that exist in the stage (e.g. /app) point into its folder
    .map((part) =>
      part.replace(/(^|[\s="':])(\/[^\s"';&|]*)/g, (whole, lead: string, path: string) => {
        const top = path.split("/")[1];
        return top !== "" && existsSync(join(state.root, top)) ? `${lead}${join(state.root, path)}` : whole;
      }),
    );
  if (kept.length === 0) return;
  const { code, output } = await runCommand("sh", ["-c", kept.join(" && ")], cwd, env);
  if (code !== 0) throw new Error(`${where} failed (${kept.join(" && ")}):\n${output}`);
}

async function buildStage(index: number, replay: Replay): Promise<StageState> {
  const stage = replay.stages[index];
  const awaitStage = async (ref: string): Promise<StageState | undefined> => {
    const found = stageIndex(replay.stages, ref);
    if (found === undefined) return undefined;
    if (found >= index) throw new Error(`stage ${index} refers to the later stage ${ref}`);
    return replay.built[found];
  };
  // wait for every stage this one copies from before starting, so no partial copy lands halfway
  const sources = new Map<string, StageState>();
  for (const { args } of stage.instructions) {
    const ref = fromFlagOf(args);
    const source = ref === undefined ? undefined : await awaitStage(ref);
    if (ref !== undefined && source !== undefined) sources.set(ref, source);
  }
  const root = join(replay.workDir, `stage-${index}`);
  const parent = await awaitStage(stage.base);
  let state: StageState;
  if (parent === undefined) {
    mkdirSync(root, { recursive: true });
    state = baseImageState(stage.base, root);
  } else {
    cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
    state = { ...parent, root, env: { ...parent.env }, args: {}, exposed: [...parent.exposed] };
  }
  for (const { keyword, args, line } of stage.instructions) {
    const where = `Dockerfile line ${line} (${keyword})`;
    const vars = { ...state.args, ...state.env };
    switch (keyword) {
      case "ARG":
        for (const [key, value] of assignments(args, vars)) state.args[key] = value ?? state.args[key] ?? "";
        break;
      case "ENV":
        for (const [key, value] of assignments(args, vars)) state.env[key] = value ?? "";
        break;
      case "WORKDIR":
        state.workdir = posix.resolve(state.workdir, substitute(args.trim(), vars));
        mkdirSync(join(root, state.workdir), { recursive: true });
        break;
      case "USER":
        state.user = substitute(args.trim(), vars);
        break;
      case "EXPOSE":
        state.exposed.push(...words(substitute(args, vars)).map((port) => port.replace(/\/(tcp|udp)$/, "")));
        break;
      case "CMD":
        state.cmd = execForm(args) ?? ["/bin/sh", "-c", args];
        break;
      case "ENTRYPOINT":
        state.entrypoint = execForm(args) ?? ["/bin/sh", "-c", args];
        state.cmd = undefined; // Docker resets an inherited CMD when ENTRYPOINT is set
        break;
      case "COPY":
      case "ADD": {
        const ref = fromFlagOf(args);
        const source = ref === undefined ? undefined : sources.get(ref);
        if (ref !== undefined && source === undefined) {
          throw new Error(
            `${where}: --from=${ref} names no earlier stage (external images are not replayed)`,
          );
        }
        copyInto(state, args, where, source, replay);
        break;
      }
      case "RUN":
        await run(state, args, where, replay.skipped);
        break;
      default:
        break; // LABEL, HEALTHCHECK, STOPSIGNAL, SHELL, VOLUME do not change what runs
    }
  }
  return state;
}

/** Replays `dockerfile` with `contextDir` as build context into `workDir`; returns the final stage. */
export async function replayDockerfile(
  dockerfile: string,
  contextDir: string,
  workDir: string,
): Promise<ReplayedImage> {
  const stages = parseDockerfile(readFileSync(dockerfile, "utf8"));
  const context = join(workDir, "context");
  mkdirSync(context, { recursive: true });
  stageBuildContext(contextDir, context);
  const replay: Replay = { stages, built: [], context, workDir, skipped: [] };
  stages.forEach((_, index) => replay.built.push(buildStage(index, replay)));
  const outcomes = await Promise.allSettled(replay.built);
  const failure = outcomes.find((outcome) => outcome.status === "rejected");
  if (failure !== undefined) throw failure.reason;
  const final = await replay.built[stages.length - 1];
  return {
    root: final.root,
    workdir: final.workdir,
    env: final.env,
    user: final.user,
    exposed: final.exposed,
    command: [...(final.entrypoint ?? []), ...(final.cmd ?? [])],
    skipped: replay.skipped,
    hostPath: (containerPath) => join(final.root, posix.resolve(final.workdir, containerPath)),
  };
}
