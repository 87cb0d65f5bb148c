import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import * as dockerBuild from "@pulumi/docker-build";
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
  /** GCP project id holding the repository. */
  readonly project: string;
  /** Region of the repository. */
  readonly region: string;
  /** Enabled APIs the repository waits for (artifactregistry). */
  readonly apis: readonly pulumi.Resource[];
}

/** The API's build context and Dockerfile, relative to the project root (where Pulumi.yaml lives). */
const BUILD_CONTEXT = "app-image";
const DOCKERFILE = `${BUILD_CONTEXT}/Dockerfile`;
const REPOSITORY_ID = "items";
const IMAGE_NAME = "items-api";
/** Most recent versions the cleanup policy always keeps, whatever their age. */
const KEEP_RECENT_VERSIONS = 10;
/** Tag of the registry build cache, next to the image in the same repository. */
const CACHE_TAG = "buildcache";

/**
 * The API's container image, built from app-image/ with BuildKit (@pulumi/docker-build) and pushed to
 * its own Artifact Registry repository. Nothing is built during preview; layers are cached in the
 * repository, so CI runners without a local cache rebuild only what changed.
 */
export class Image extends pulumi.ComponentResource {
  /** `<repository>/<image>@sha256:…`: what both platforms run, pinned to the pushed digest. */
  public readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: ImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:Image", name, {}, opts);

    const repository = new gcp.artifactregistry.Repository(
      `${name}-repository`,
      {
        location: args.region,
        repositoryId: REPOSITORY_ID,
        format: "DOCKER",
        description: "Images of the items API",
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: KEEP_RECENT_VERSIONS } },
          // Keep rules win over delete rules: the newest versions survive however old they are.
          { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: "2592000s" } },
        ],
      },
      { parent: this, dependsOn: [...args.apis] },
    );

    const registryHost = `${args.region}-docker.pkg.dev`;
    const imageRepository = pulumi.interpolate`${registryHost}/${args.project}/${repository.repositoryId}/${IMAGE_NAME}`;
    const tag = contentHash(listSourceFiles(path.resolve(PROJECT_ROOT, BUILD_CONTEXT)));
    const cache = pulumi.interpolate`${imageRepository}:${CACHE_TAG}`;
    const accessToken = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;
    const image = new dockerBuild.Image(
      `${name}-image`,
      {
        context: { location: BUILD_CONTEXT },
        dockerfile: { location: DOCKERFILE },
        platforms: ["linux/amd64"],
        tags: [pulumi.interpolate`${imageRepository}:${tag}`],
        push: true,
        // A preview neither builds nor pushes; the digest is unknown until `up`.
        buildOnPreview: false,
        // Artifact Registry stores a registry cache as an OCI image manifest, not a manifest list.
        cacheFrom: [{ registry: { ref: cache } }],
        cacheTo: [{ registry: { ref: cache, mode: "max", imageManifest: true, ociMediaTypes: true } }],
        registries: [
          { address: registryHost, username: "oauth2accesstoken", password: pulumi.secret(accessToken) },
        ],
      },
      { parent: this },
    );

    this.imageRef = pulumi.interpolate`${imageRepository}@${image.digest}`;
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
