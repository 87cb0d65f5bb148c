// Issue: a resource created while its API is still being enabled fails with 403 "API has not been
// used in project … or it is disabled", and the provider does not retry. So every resource must be
// created after the projects.Service of its type's API (lib/resource-types.ts). The engine creates a
// resource only after everything in its dependsOn, and after its parent's registration, which in
// turn waits for the parent's own dependsOn: a path over those edges to the Service is the proof.
import * as assert from "node:assert/strict";

import { isEngineType, resourceType, T } from "../../lib/resource-types";
import type { PlanDocument, PlanResource } from "../../plan/types";
import { PLAN_VARIANTS, planOf, variantLabel } from "./inventory";

/** Enabling APIs goes through Service Usage, so it cannot be enabled by the resources it serves. */
const BOOTSTRAP_API = "serviceusage.googleapis.com";

/** URNs a resource is certainly created after: its dependsOn and its parent, transitively. */
function createdAfter(doc: PlanDocument): (resource: PlanResource) => Set<string> {
  const byUrn = new Map(doc.resources.map((resource) => [resource.urn, resource]));
  const memo = new Map<string, Set<string>>();
  const visit = (urn: string): Set<string> => {
    const known = memo.get(urn);
    if (known) return known;
    const result = new Set<string>();
    memo.set(urn, result);
    const resource = byUrn.get(urn);
    for (const edge of [...(resource?.dependsOn ?? []), ...(resource?.parent ? [resource.parent] : [])]) {
      result.add(edge);
      for (const inner of visit(edge)) result.add(inner);
    }
    return result;
  };
  return (resource) => visit(resource.urn);
}

/** Every custom resource that can be created before its API is enabled, with the reason. */
export function createdBeforeTheirApi(doc: PlanDocument): string[] {
  const services = new Map(
    doc.resources.filter((r) => r.type === T.apiService).map((r) => [String(r.inputs.service), r.urn]),
  );
  const after = createdAfter(doc);
  return doc.resources
    .filter((resource) => resource.provider !== null && !isEngineType(resource.type))
    .flatMap((resource) => {
      const api = resourceType(resource.type)?.api;
      if (api === undefined) return [`${resource.name}: ${resource.type} is not in lib/resource-types.ts`];
      if (api === null || api === BOOTSTRAP_API) return [];
      const service = services.get(api);
      if (service === undefined) return [`${resource.name} (${resource.type}): ${api} is never enabled`];
      return after(resource).has(service)
        ? []
        : [`${resource.name} (${resource.type}) does not wait for ${api}`];
    });
}

describe("every resource waits for its API", () => {
  for (const variant of PLAN_VARIANTS) {
    it(`in ${variantLabel(variant)}`, async function () {
      this.timeout(120_000);
      const doc = await planOf(variant.stack, variant.overrides);
      assert.deepEqual(createdBeforeTheirApi(doc), []);
    });
  }
});
