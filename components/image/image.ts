import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import * as docker from "@pulumi/docker";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Build output and installed packages: they change without the source changing. */
const EXCLUDED_DIRECTORIES = new Set(["node_modules", "dist", ".git"]);
const EXCLUDED_FILES = /\.tsbuildinfo$/;
/** The Pulumi project root: build paths are relative to it (where Pulumi.yaml lives). */
const PROJECT_ROOT = path.resolve(__dirname, "../..");

const byPath = (a: SourceFile, b: SourceFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export interface SourceFile {
  /** Path relative to the build context, with "/" separators. */
  readonly path: string;
  readonly content: Buffer;
}

/** Every file of the build context except build output and installed packages. */
export function listSourceFiles(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (directory: string) => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const absolute = path.join(directory, entry.name);
      if (entry.isDirectory() && !EXCLUDED_DIRECTORIES.has(entry.name)) walk(absolute);
      if (entry.isFile() && !EXCLUDED_FILES.test(entry.name)) {
        files.push({
          path: path.relative(root, absolute).split(path.sep).join("/"),
          content: fs.readFileSync(absolute),
        });
      }
    }
  };
  walk(root);
  return files;
}

/**
 * A short content hash of a set of files: the image tag. The same sources give the same tag, so an
 * unchanged app leaves the image, and every workload that references it, untouched.
 */
export function contentHash(files: readonly SourceFile[]): string {
  const hash = createHash("sha256");
  for (const file of [...files].sort(byPath)) {
    hash.update(file.path).update("\0").update(String(file.content.length)).update("\0").update(file.content);
  }
  return hash.digest("hex").slice(0, 16);
}

export interface ImageArgs {
  /** GCP project id holding the repository (required). */
  readonly project: string;
  /** Region of the repository (required). */
  readonly region: string;
  /** Docker build context, relative to the project root; default "app-image". */
  readonly context?: string;
  /** Dockerfile, relative to the project root; default "<context>/Dockerfile". */
  readonly dockerfile?: string;
  /** Artifact Registry repository id; default "items". */
  readonly repositoryId?: string;
  /** Image name inside the repository; default "items-api". */
  readonly imageName?: string;
  /** Most recent versions the cleanup policy always keeps; default 10. */
  readonly keepRecentVersions?: number;
  /** Enabled APIs the repository waits for (artifactregistry); default none. */
  readonly apis?: readonly pulumi.Resource[];
}

export interface ResolvedImageArgs {
  readonly project: string;
  readonly region: string;
  readonly context: string;
  readonly dockerfile: string;
  readonly repositoryId: string;
  readonly imageName: string;
  readonly keepRecentVersions: number;
}

export function resolveImageArgs(args: ImageArgs): ResolvedImageArgs {
  const context = args.context ?? "app-image";
  const repositoryId = args.repositoryId ?? "items";
  if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(repositoryId)) {
    throw new Error(`\`repositoryId\` must be lower-case letters, digits and '-', got "${repositoryId}"`);
  }
  const keepRecentVersions = args.keepRecentVersions ?? 10;
  if (!Number.isInteger(keepRecentVersions) || keepRecentVersions < 1) {
    throw new Error(`\`keepRecentVersions\` must be an integer >= 1, got ${keepRecentVersions}`);
  }
  return {
    project: args.project,
    region: args.region,
    context,
    dockerfile: args.dockerfile ?? `${context}/Dockerfile`,
    repositoryId,
    imageName: args.imageName ?? "items-api",
    keepRecentVersions,
  };
}

/** The API's container image, built from app-image/ and pushed to its own Artifact Registry repository. */
export class Image extends pulumi.ComponentResource {
  /** What workloads run: the pushed digest when known, else the content-addressed tag. */
  public readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: ImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gcp-async-api:gcp:Image", name, {}, opts);
    const resolved = resolveImageArgs(args);

    const repository = new gcp.artifactregistry.Repository(
      `${name}-repository`,
      {
        location: resolved.region,
        repositoryId: resolved.repositoryId,
        format: "DOCKER",
        description: "Images of the items API",
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          {
            id: "keep-recent",
            action: "KEEP",
            mostRecentVersions: { keepCount: resolved.keepRecentVersions },
          },
          // Keep rules win over delete rules: the newest versions survive however old they are.
          { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: "2592000s" } },
        ],
      },
      { parent: this, dependsOn: [...(args.apis ?? [])] },
    );

    const registryHost = `${resolved.region}-docker.pkg.dev`;
    const tag = contentHash(listSourceFiles(path.resolve(PROJECT_ROOT, resolved.context)));
    const accessToken = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: pulumi.interpolate`${registryHost}/${resolved.project}/${repository.repositoryId}/${resolved.imageName}:${tag}`,
        build: { context: resolved.context, dockerfile: resolved.dockerfile, platform: "linux/amd64" },
        registry: {
          server: registryHost,
          username: "oauth2accesstoken",
          password: pulumi.secret(accessToken),
        },
      },
      { parent: this },
    );

    this.imageRef = pulumi
      .all([image.repoDigest, image.imageName])
      .apply(([repoDigest, imageName]) => (repoDigest ? repoDigest : imageName));
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
