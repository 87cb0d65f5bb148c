// Assertions over an offline plan (plan/run.ts): find resources by type and name, compare a chosen
// subset of their inputs, count them by type. Every failure prints what the plan actually holds, so
// an expectation is corrected by reading the message, not by re-running with print statements.
import * as assert from "node:assert/strict";

import { PROJECT_NAME } from "../../config";
import { SECRET_TEXT, type PlanDocument, type PlanResource } from "../../plan/types";
import { rawStackConfig, type StackName } from "../../lib/stack-files";
import { planCache } from "../support/plans";

export { T } from "../../lib/resource-types";

export type PlannedResource = PlanResource;

/** The plan's marker for a secret value. */
export const SECRET = SECRET_TEXT;

/**
 * The part of `actual` that has the shape of `expected`: object keys that `expected` names, array
 * elements index by index (extra elements stay, so a list's length is checked too). Comparing this
 * with `expected` ignores every key a test did not ask about.
 */
export function pickShape(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return (actual as unknown[]).map((item, index) =>
      index < expected.length ? pickShape(item, (expected as unknown[])[index]) : item,
    );
  }
  if (isRecord(expected) && isRecord(actual)) {
    return Object.fromEntries(
      Object.keys(expected)
        .filter((key) => key in actual)
        .map((key) => [key, pickShape(actual[key], expected[key])]),
    );
  }
  return actual;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

export class Inventory {
  constructor(readonly resources: readonly PlannedResource[]) {}

  /** Every resource of a type, in registration order. */
  all(type: string): PlannedResource[] {
    return this.resources.filter((resource) => resource.type === type);
  }

  /** The one resource of `type` named `name`; fails listing what exists of that type. */
  find(type: string, name: string): PlannedResource {
    const matches = this.all(type).filter((resource) => resource.name === name);
    assert.equal(
      matches.length,
      1,
      `expected exactly one ${type} named "${name}", found ${matches.length}; ` +
        `${type} in the plan: ${json(this.all(type).map((resource) => resource.name))}`,
    );
    return matches[0];
  }

  /** Asserts the inputs of one resource contain `expected` (a deep subset); returns the resource. */
  expectInputs(type: string, name: string, expected: Record<string, unknown>): PlannedResource {
    const resource = this.find(type, name);
    assert.deepStrictEqual(
      pickShape(resource.inputs, expected),
      expected,
      `inputs of ${type} "${name}" differ from the expectation; actual inputs:\n${json(resource.inputs)}`,
    );
    return resource;
  }

  /** Asserts `resource` lists every one of `dependencies` in its dependsOn. */
  expectDependsOn(resource: PlannedResource, dependencies: readonly PlannedResource[]): void {
    const missing = dependencies.filter((dependency) => !resource.dependsOn.includes(dependency.urn));
    assert.deepStrictEqual(
      missing.map((dependency) => dependency.urn),
      [],
      `${resource.urn} does not depend on the resources above; its dependsOn:\n${json(resource.dependsOn)}`,
    );
  }

  /** Number of resources of each type. */
  countByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const resource of this.resources) counts[resource.type] = (counts[resource.type] ?? 0) + 1;
    return counts;
  }

  /** Asserts the count of each named type (types not named are not checked). */
  expectCounts(expected: Record<string, number>): void {
    const counts = this.countByType();
    const actual = Object.fromEntries(Object.keys(expected).map((type) => [type, counts[type] ?? 0]));
    assert.deepStrictEqual(
      actual,
      expected,
      `resource counts differ; all counts in the plan:\n${json(counts)}`,
    );
  }

  /** Resources whose URN has `componentType` among its parent types (the component's subtree). */
  under(componentType: string): PlannedResource[] {
    return this.resources.filter((resource) => urnTypes(resource.urn).slice(0, -1).includes(componentType));
  }
}

/** Components whose subtrees are the data tier: what switching `platform` must never touch. */
export const DATA_TIER_COMPONENTS = [
  "items-api:gcp:ProjectApis",
  "items-api:gcp:Network",
  "items-api:gcp:Database",
  "items-api:gcp:Cache",
  // H-REAL's component; its type token moves to items-api: with the rename (lead merges).
  "items-api:gcp:Image",
] as const;

/** The data tier of a plan: its components, their subtrees and the providers those resources use. */
export function dataTier(plan: Inventory): Inventory {
  const members = DATA_TIER_COMPONENTS.flatMap((type) => [...plan.all(type), ...plan.under(type)]);
  // A provider reference is `<provider URN>::<provider id>`.
  const providerUrns = new Set(members.map((resource) => resource.provider?.replace(/::[^:]*$/, "")));
  const providers = plan.resources.filter((resource) => providerUrns.has(resource.urn));
  return new Inventory([...providers, ...members]);
}

/** The type chain of a URN: `urn:pulumi:stack::project::A$B$C::name` → [A, B, C]. */
export function urnTypes(urn: string): string[] {
  const typePart = urn.split("::")[2] ?? "";
  return typePart.split("$");
}

const cachedPlan = planCache();

/**
 * The plan of a stack with config overrides (keys as on the plan's command line), computed once per
 * test run: each plan is a child process, and several test files ask for the same scenario. An
 * override equal to the stack file's value is the same scenario as none.
 */
export function planOf(
  stack: StackName,
  overrides: Readonly<Record<string, string>> = {},
): Promise<PlanDocument> {
  const file = rawStackConfig(stack);
  const effective = Object.entries(overrides)
    .filter(([key, value]) => file[key.includes(":") ? key : `${PROJECT_NAME}:${key}`] !== value)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return cachedPlan(JSON.stringify([stack, effective]), { stack, overrides: Object.fromEntries(effective) });
}

/** One way to run the program: a stack with config overrides. */
export interface PlanVariant {
  readonly stack: StackName;
  readonly overrides: Readonly<Record<string, string>>;
}

/**
 * Every variant that registers a different set of resource types: both stacks on both platforms,
 * and the GKE-only option that adds resources (hpaMetric rps: the Custom Metrics adapter). Prod sets
 * observability.notificationEmail and dev does not, so both sides of that option are covered too.
 */
export const PLAN_VARIANTS: readonly PlanVariant[] = (["dev", "prod"] as const).flatMap(
  (stack): PlanVariant[] => [
    { stack, overrides: { platform: "gke" } },
    { stack, overrides: { platform: "gke", "gke.hpaMetric": "rps" } },
    { stack, overrides: { platform: "cloudrun" } },
  ],
);

export const variantLabel = (variant: PlanVariant): string =>
  `${variant.stack} ${Object.entries(variant.overrides)
    .map(([key, value]) => `${key}=${value}`)
    .join(" ")}`;
