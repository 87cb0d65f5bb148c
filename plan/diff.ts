// Compares two plans resource by resource (matched by URN), property by property.
import {
  PLAN_NOTICE,
  type PlanDiff,
  type PlanDocument,
  type PlanResource,
  type PropertyChange,
} from "./types";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `settings.tier`, `ports[0].containerPort`, `labels["app.kubernetes.io/name"]`. */
export function propertyPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

/** A change without the side on which the property is absent. */
function change(path: string, before: unknown, after: unknown): PropertyChange {
  return { path, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The object or array that a string input holds as JSON (dashboards, IAM policies, manifests),
 * so a reviewer sees `dashboardJson.mosaicLayout.tiles[3].widget.title`, not two pages of JSON.
 */
function jsonDocument(value: unknown): unknown {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Leaf-level changes between two values; a value that changes kind (object/array/scalar) is one change. */
function diffValues(path: string, before: unknown, after: unknown, changes: PropertyChange[]): void {
  const [documentBefore, documentAfter] = [jsonDocument(before), jsonDocument(after)];
  if (documentBefore !== undefined && documentAfter !== undefined && before !== after) {
    diffValues(path, documentBefore, documentAfter, changes);
  } else if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) diffValues(propertyPath(path, key), before[key], after[key], changes);
  } else if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      diffValues(propertyPath(path, i), before[i], after[i], changes);
    }
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    changes.push(change(path, before, after));
  }
}

/**
 * Input changes use the input's path; changes to the resource's options use the option's name
 * prefixed with `@` (`@protect`, `@provider`, `@parent`, `@dependsOn`), which no input name starts
 * with. `@dependsOn` is a set: one change per URN that left (`before`) or joined (`after`).
 */
function diffResource(before: PlanResource, after: PlanResource): PropertyChange[] {
  const changes: PropertyChange[] = [];
  diffValues("", before.inputs, after.inputs, changes);
  for (const option of ["protect", "provider", "parent"] as const) {
    diffValues(`@${option}`, before[option], after[option], changes);
  }
  const previous = new Set(before.dependsOn);
  const current = new Set(after.dependsOn);
  for (const urn of before.dependsOn)
    if (!current.has(urn)) changes.push(change("@dependsOn", urn, undefined));
  for (const urn of after.dependsOn)
    if (!previous.has(urn)) changes.push(change("@dependsOn", undefined, urn));
  return changes;
}

const byUrn = (a: { urn: string }, b: { urn: string }) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0);

/** The resource as it would be named in another stack: URNs embed the stack's name, as does the root stack's. */
function inStack(resource: PlanResource, project: string, from: string, to: string): PlanResource {
  if (from === to) return resource;
  const rename = (urn: string) =>
    urn
      .replace(`urn:pulumi:${from}::`, `urn:pulumi:${to}::`)
      .replace(`::pulumi:pulumi:Stack::${project}-${from}`, `::pulumi:pulumi:Stack::${project}-${to}`);
  return {
    ...resource,
    urn: rename(resource.urn),
    parent: resource.parent === null ? null : rename(resource.parent),
    provider: resource.provider === null ? null : rename(resource.provider),
    dependsOn: resource.dependsOn.map(rename),
  };
}

/**
 * Added, removed and changed resources of `after` relative to `before`, each list sorted by URN.
 * Resources match by URN with the stack name set aside, so two stacks' plans compare too; changed
 * entries carry `after`'s URN, removed ones `before`'s.
 */
export function diffPlans(before: PlanDocument, after: PlanDocument): PlanDiff {
  const previousByUrn = new Map(
    before.resources.map((resource) => [
      inStack(resource, before.project, before.stack, after.stack).urn,
      resource,
    ]),
  );
  const afterUrns = new Set(after.resources.map((resource) => resource.urn));
  const changed = after.resources.flatMap((resource) => {
    const previous = previousByUrn.get(resource.urn);
    const diff =
      previous === undefined
        ? []
        : diffResource(inStack(previous, before.project, before.stack, after.stack), resource);
    return diff.length > 0 ? [{ urn: resource.urn, diff }] : [];
  });
  return {
    added: after.resources.filter((resource) => !previousByUrn.has(resource.urn)).sort(byUrn),
    removed: [...previousByUrn]
      .filter(([urn]) => !afterUrns.has(urn))
      .map(([, resource]) => resource)
      .sort(byUrn),
    changed: changed.sort(byUrn),
    notice: PLAN_NOTICE,
  };
}
