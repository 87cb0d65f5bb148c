// The platform components built in-process under the offline plan's mocks, with options that no stack
// file sets (a zonal cluster in a chosen zone, authorised networks, a custom namespace, a private Cloud Run
// service), so those paths are exercised beyond their config validation. The mocks are process-wide:
// this is the one test file that installs them, once, and builds every component in the same run.
import * as assert from "node:assert/strict";

import * as pulumi from "@pulumi/pulumi";

import { CloudRunService } from "../../components/cloudrun/service";
import { GkeCluster } from "../../components/gke/cluster";
import { GkeWorkload } from "../../components/gke/workload";
import { Image } from "../../components/image/image";
import { SECRET_ENV_NAMES, type AppSecrets } from "../../components/workload/api-environment";
import type { SecretRef } from "../../components/data/stored-secret";
import { parseStackConfig } from "../../config";
import { rawStackConfig } from "../../lib/stack-files";
import { createMocks } from "../../plan/mocks";
import { recordRegistrations } from "../../plan/recorder";
import { Inventory } from "./inventory";

const PROJECT = "acme-items-test";
const REGION = "europe-west1";
const DIGEST = `sha256:${"ab".repeat(32)}`;

/** Stack config with the given `gke` and `cloudrun` fields, validated by config.ts like a stack file. */
const cfg = parseStackConfig({
  ...rawStackConfig("dev"),
  "items-api:gke": JSON.stringify({
    regional: false,
    zone: "europe-west1-d",
    masterAuthorizedNetworks: [{ cidrBlock: "203.0.113.0/24", displayName: "office" }],
    maxReplicas: 4,
    namespace: "items",
  }),
  "items-api:cloudrun": JSON.stringify({
    minInstances: 2,
    maxInstances: 12,
    concurrency: 200,
    startupCpuBoost: false,
  }),
});

function secretRef(key: string): SecretRef {
  return {
    secretId: pulumi.output(`secret-${key}`),
    secretName: pulumi.output(`projects/1/secrets/secret-${key}`),
    version: pulumi.output("3"),
    value: pulumi.secret(`value of ${key}`),
  };
}

let plan: Inventory;

before(async function () {
  this.timeout(60_000);
  const { mocks, errors } = createMocks({ project: PROJECT, region: REGION });
  // The pushed digest of an image built with @pulumi/docker-build; the offline plan's mocks do not answer it.
  const withDigest: pulumi.runtime.Mocks = {
    newResource: async (args) => {
      const result = await mocks.newResource(args);
      if (args.type !== "docker-build:index:Image") return result;
      return { id: result.id, state: { ...result.state, digest: DIGEST } };
    },
    call: (args) => mocks.call(args),
  };
  await pulumi.runtime.setMocks(withDigest, "items-api", "components", false);
  const recorder = recordRegistrations({
    stack: "components",
    project: "items-api",
    providerInputs: () => ({}),
  });
  const secrets = Object.fromEntries(
    Object.keys(SECRET_ENV_NAMES).map((key) => [key, secretRef(key)]),
  ) as unknown as AppSecrets<SecretRef>;

  await pulumi.runtime.runInPulumiStack(() => {
    const image = new Image("img", { project: PROJECT, region: REGION, apis: [] });
    const cluster = new GkeCluster("gke", {
      project: PROJECT,
      region: REGION,
      settings: cfg.gke,
      deletionProtection: false,
      network: "net",
      subnetwork: "subnet",
      podsRangeName: "pods",
      servicesRangeName: "services",
      apis: [],
    });
    new GkeWorkload("api", {
      project: PROJECT,
      app: cfg.app,
      settings: cfg.gke,
      provider: cluster.provider,
      workloadPool: cluster.workloadPool,
      imageRef: image.imageRef,
      secrets,
      apis: [],
    });
    new CloudRunService("run", {
      project: PROJECT,
      region: REGION,
      app: cfg.app,
      settings: cfg.cloudrun,
      deletionProtection: true,
      imageRef: image.imageRef,
      secrets,
      network: "net",
      subnetwork: "subnet",
      apis: [],
    });
    return Promise.resolve({});
  });
  await pulumi.runtime.disconnect();
  assert.deepEqual([...recorder.errors, ...errors], []);
  plan = new Inventory(recorder.resources);
});

describe("GkeCluster, zonal with authorised networks", () => {
  it("puts control plane and nodes in the configured zone", () => {
    const cluster = plan.find("gcp:container/cluster:Cluster", "gke");
    assert.equal(cluster.inputs.location, "europe-west1-d");
    const pool = plan.find("gcp:container/nodePool:NodePool", "gke-pool");
    assert.equal(pool.inputs.location, "europe-west1-d");
  });

  it("limits the control-plane endpoint to the authorised networks", () => {
    plan.expectInputs("gcp:container/cluster:Cluster", "gke", {
      masterAuthorizedNetworksConfig: {
        cidrBlocks: [{ cidrBlock: "203.0.113.0/24", displayName: "office" }],
      },
    });
  });
});

describe("GkeWorkload in its own namespace", () => {
  it("exposes the pods through standalone NEGs named for the edge's backend service", () => {
    const service = plan.find("kubernetes:core/v1:Service", "api-svc");
    const annotations = (service.inputs.metadata as { annotations: Record<string, string> }).annotations;
    assert.deepEqual(JSON.parse(annotations["cloud.google.com/neg"]), {
      exposed_ports: { "80": { name: "api-neg" } },
    });
    assert.equal(plan.all("kubernetes:networking.k8s.io/v1:Ingress").length, 0);
  });

  it("runs in the configured namespace with the image pinned by digest", () => {
    const namespace = plan.find("kubernetes:core/v1:Namespace", "api-ns");
    assert.equal((namespace.inputs.metadata as { name: string }).name, "items");
    const deployment = plan.find("kubernetes:apps/v1:Deployment", "api-api");
    const image = (deployment.inputs.spec as { template: { spec: { containers: { image: string }[] } } })
      .template.spec.containers[0].image;
    assert.equal(image, `${REGION}-docker.pkg.dev/${PROJECT}/items/items-api@${DIGEST}`);
  });
});

describe("CloudRunService, private, with explicit scaling", () => {
  it("admits the edge without credentials and scales as configured", () => {
    plan.expectInputs("gcp:cloudrunv2/service:Service", "run", {
      invokerIamDisabled: true,
      ingress: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
      deletionProtection: true,
      template: {
        maxInstanceRequestConcurrency: 200,
        scaling: { minInstanceCount: 2, maxInstanceCount: 12 },
        containers: [
          {
            image: `${REGION}-docker.pkg.dev/${PROJECT}/items/items-api@${DIGEST}`,
            resources: { startupCpuBoost: false },
          },
        ],
      },
    });
    assert.deepEqual(plan.all("gcp:cloudrunv2/serviceIamMember:ServiceIamMember"), []);
  });
});

describe("Image built with @pulumi/docker-build", () => {
  it("pushes with a registry cache in Artifact Registry and builds nothing during preview", () => {
    const repository = `${REGION}-docker.pkg.dev/${PROJECT}/items/items-api`;
    const image = plan.find("docker-build:index:Image", "img-image");
    const cache = `${repository}:buildcache`;
    assert.deepEqual(
      {
        push: image.inputs.push,
        buildOnPreview: image.inputs.buildOnPreview,
        platforms: image.inputs.platforms,
        cacheFrom: image.inputs.cacheFrom,
        cacheTo: image.inputs.cacheTo,
      },
      {
        push: true,
        buildOnPreview: false,
        platforms: ["linux/amd64"],
        cacheFrom: [{ registry: { ref: cache } }],
        cacheTo: [{ registry: { ref: cache, mode: "max", imageManifest: true, ociMediaTypes: true } }],
      },
    );
    assert.match(String((image.inputs.tags as string[])[0]), new RegExp(`^${repository}:[0-9a-f]{16}$`));
    assert.deepEqual(image.inputs.registries, [
      { address: `${REGION}-docker.pkg.dev`, username: "oauth2accesstoken", password: "[secret]" },
    ]);
  });
});
