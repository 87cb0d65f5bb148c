// The runtime image's own layers, rebuilt without Docker. app-image/Dockerfile's runtime stage copies
// files from the build stage (the bundled server) on top of the base image; their sizes after
// `npm run build` are what those layers add.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ImageSize {
  readonly appLayerMiB: number;
  /** The runtime stage's base image (last FROM of the Dockerfile), whose size Docker would add. */
  readonly base: string | null;
}

/** The runtime stage: the Dockerfile from its last `FROM` on. */
function runtimeStage(dockerfile: string): string {
  const froms = [...dockerfile.matchAll(/^\s*FROM\s/gim)];
  return froms.length === 0 ? "" : dockerfile.slice(froms[froms.length - 1].index);
}

/** Image of the last `FROM` in a Dockerfile (the stage that becomes the image). */
export function runtimeBase(dockerfile: string): string | null {
  return /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(runtimeStage(dockerfile))?.[1] ?? null;
}

/** Sources of the runtime stage's `COPY --from=<stage>` lines, as paths of the build stage's /app. */
export function copiedFromBuild(dockerfile: string): string[] {
  return [...runtimeStage(dockerfile).matchAll(/^\s*COPY\s+--from=\S+\s+(.+)$/gim)].flatMap((match) =>
    match[1].trim().split(/\s+/).slice(0, -1),
  );
}

export function measureRuntimeImage(appDir: string): ImageSize {
  const dockerfilePath = join(appDir, "Dockerfile");
  const dockerfile = existsSync(dockerfilePath) ? readFileSync(dockerfilePath, "utf8") : "";
  const bytes = copiedFromBuild(dockerfile)
    .map((source) => join(appDir, source.replace(/^\/app\//, "")))
    .reduce((total, file) => total + statSync(file).size, 0);
  return { appLayerMiB: bytes / 1024 / 1024, base: runtimeBase(dockerfile) };
}
