// Issue 11 item 5: the Kubernetes objects stay valid against the Kubernetes schema. Every object in the
// offline plan of each GKE variant is validated with kubernetes-models: validators generated from the
// official Kubernetes OpenAPI spec, one class per apiVersion/kind, with the spec's types, required
// fields and formats (quantity, int-or-string). The spec does not forbid unknown field names, so neither
// does this check; the typed @pulumi/kubernetes arguments catch those at compile time.
import * as assert from "node:assert/strict";

import type { ErrorObject } from "ajv";

import { SECRET_TEXT, UNKNOWN_TEXT, type PlanResource } from "../../plan/types";
import { PLAN_VARIANTS, planOf, T, variantLabel } from "./inventory";

/** A kubernetes-models class: its apiVersion/kind, and `validate()` throwing ajv's errors. */
interface KubernetesModel {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/**
 * Custom resources whose schema no npm package ships: PodMonitoring (Google Managed Prometheus,
 * monitoring.googleapis.com/v1) is in neither kubernetes-models nor @kubernetes-models/gke, and a
 * vendored copy of its CRD would be one more thing to keep current. Only what every object has is
 * checked: apiVersion, kind and metadata.
 */
const WITHOUT_SCHEMA: readonly string[] = [T.podMonitoring];

const PLACEHOLDERS: readonly unknown[] = [SECRET_TEXT, UNKNOWN_TEXT];

/** Every model class of kubernetes-models by `apiVersion kind`; the package is ESM only, hence import(). */
async function loadModels(): Promise<Map<string, KubernetesModel>> {
  const models = new Map<string, KubernetesModel>();
  const collect = (namespace: object): void => {
    for (const value of Object.values(namespace)) {
      if (typeof value === "function" && "kind" in value && "apiVersion" in value) {
        const model = value as KubernetesModel;
        models.set(`${model.apiVersion} ${model.kind}`, model);
      } else if (typeof value === "object" && value !== null) {
        collect(value as object);
      }
    }
  };
  collect(await import("kubernetes-models"));
  return models;
}

/** `kubernetes:apps/v1:Deployment` → apiVersion `apps/v1`; the core group has no group in apiVersion. */
function typeMeta(resource: PlanResource): { apiVersion: string; kind: string } {
  const [, groupVersion, kind] = resource.type.split(":");
  return { apiVersion: groupVersion.replace(/^core\//, ""), kind };
}

/**
 * The object as it reaches the API server. Pulumi auto-naming sets metadata.name (the logical name plus
 * a random suffix) when the program gives none, after the point where the plan records inputs; the
 * logical name stands in for it. (The schema itself does not require a name: generateName may replace it.)
 */
function asSent(resource: PlanResource): Record<string, unknown> {
  const metadata = (resource.inputs.metadata ?? {}) as Record<string, unknown>;
  return { ...resource.inputs, metadata: { name: resource.name, ...metadata } };
}

/** The value at an ajv instancePath (`/spec/template/0`). */
function valueAt(data: unknown, instancePath: string): unknown {
  return instancePath
    .split("/")
    .slice(1)
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], data);
}

/** Schema violations of one object; none for a value the plan hides ("[secret]", "[unknown]"). */
function violations(models: Map<string, KubernetesModel>, resource: PlanResource): string[] {
  const object = asSent(resource);
  const { apiVersion, kind } = typeMeta(resource);
  const label = `${resource.name} (${apiVersion} ${kind})`;
  if (object.apiVersion !== apiVersion || object.kind !== kind) {
    return [`${label}: the inputs say ${String(object.apiVersion)} ${String(object.kind)}`];
  }
  // ObjectMeta is one schema shared by every object; a ConfigMap requires nothing else, so a ConfigMap
  // holding a custom resource's metadata validates that metadata alone.
  const [model, checked] = WITHOUT_SCHEMA.includes(resource.type)
    ? [models.get("v1 ConfigMap"), { metadata: object.metadata }]
    : [models.get(`${apiVersion} ${kind}`), object];
  if (!model) return [`${label}: kubernetes-models has no schema for it`];
  try {
    new model(checked).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: ErrorObject[] }).errors;
    if (!errors) throw error;
    return errors
      .filter((found) => !PLACEHOLDERS.includes(valueAt(checked, found.instancePath)))
      .map((found) => `${label}: ${found.instancePath || "/"} ${found.message ?? found.keyword}`);
  }
}

const GKE_VARIANTS = PLAN_VARIANTS.filter((variant) => variant.overrides.platform === "gke");

describe("Kubernetes objects are valid against the Kubernetes schema", () => {
  let models: Map<string, KubernetesModel>;
  before(async function () {
    this.timeout(30_000); // a few seconds: every validator of every Kubernetes API group loads
    models = await loadModels();
  });

  for (const variant of GKE_VARIANTS) {
    it(`in ${variantLabel(variant)}`, async function () {
      this.timeout(120_000);
      const objects = (await planOf(variant.stack, variant.overrides)).resources.filter((resource) =>
        resource.type.startsWith("kubernetes:"),
      );
      assert.ok(objects.length > 0, "the plan registers no Kubernetes object");
      assert.deepEqual(
        objects.flatMap((resource) => violations(models, resource)),
        [],
      );
    });
  }

  it("reports a broken Deployment and a custom resource with broken metadata", async function () {
    this.timeout(120_000);
    const { stack, overrides } = GKE_VARIANTS[0];
    const resources = (await planOf(stack, overrides)).resources;
    const deployment = resources.find((resource) => resource.type === T.deployment);
    const podMonitoring = resources.find((resource) => resource.type === T.podMonitoring);
    assert.ok(deployment && podMonitoring, "the plan holds a Deployment and a PodMonitoring");
    const broken = structuredClone(deployment);
    const spec = broken.inputs.spec as { replicas?: unknown; template: { spec: { containers: object[] } } };
    spec.replicas = "three";
    delete (spec.template.spec.containers[0] as { name?: string }).name;
    const brokenMonitoring = structuredClone(podMonitoring);
    (brokenMonitoring.inputs.metadata as { labels: unknown }).labels = ["not", "a", "map"];

    assert.deepEqual(violations(models, broken), [
      `${broken.name} (apps/v1 Deployment): /spec/replicas must be integer`,
      `${broken.name} (apps/v1 Deployment): /spec/template/spec/containers/0 must have required property name`,
    ]);
    assert.deepEqual(violations(models, brokenMonitoring), [
      `${podMonitoring.name} (monitoring.googleapis.com/v1 PodMonitoring): /metadata/labels must be object`,
    ]);
  });
});
