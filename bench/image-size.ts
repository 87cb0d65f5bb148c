// The runtime image's own layers, rebuilt without Docker. app-image/Dockerfile's runtime stage holds
// node_modules from `npm ci --omit=dev --ignore-scripts` (its deps stage), dist/ and package.json on top
// of the base image; the same files in a temp dir, measured with du, are what those layers add.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ImageSize {
  readonly appLayerMiB: number;
  /** The runtime stage's base image (last FROM of the Dockerfile), whose size Docker would add. */
  readonly base: string | null;
}

/** Image of the last `FROM` in a Dockerfile (the stage that becomes the image). */
export function runtimeBase(dockerfile: string): string | null {
  const froms = [...dockerfile.matchAll(/^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/gim)].map(
    (match) => match[1],
  );
  return froms.length === 0 ? null : froms[froms.length - 1];
}

export function measureRuntimeImage(appDir: string): ImageSize {
  const dockerfilePath = join(appDir, "Dockerfile");
  const base = existsSync(dockerfilePath) ? runtimeBase(readFileSync(dockerfilePath, "utf8")) : null;
  const dir = mkdtempSync(join(tmpdir(), "bench-image-"));
  try {
    for (const file of ["package.json", "package-lock.json"]) cpSync(join(appDir, file), join(dir, file));
    execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    rmSync(join(dir, "package-lock.json")); // only the deps stage sees it
    cpSync(join(appDir, "dist"), join(dir, "dist"), { recursive: true });
    const kib = Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]);
    return { appLayerMiB: kib / 1024, base };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
