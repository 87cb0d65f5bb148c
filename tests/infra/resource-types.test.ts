import * as assert from "node:assert/strict";

import {
  deployRoles,
  isEngineType,
  previewRoles,
  requiredApis,
  RESOURCE_TYPES,
  resourceType,
} from "../../lib/resource-types";
import type { PlanDocument } from "../../plan/types";
import { PLAN_VARIANTS, planOf, variantLabel } from "./inventory";

/** Custom resources of a plan: components have no provider, providers and the stack are the engine's. */
const customResources = (doc: PlanDocument) =>
  doc.resources.filter((resource) => resource.provider !== null && !isEngineType(resource.type));

describe("resource-type table (lib/resource-types.ts)", () => {
  const plans = new Map<string, PlanDocument>();

  before(async function () {
    this.timeout(PLAN_VARIANTS.length * 90_000); // one child process per variant, one at a time
    for (const variant of PLAN_VARIANTS) {
      plans.set(variantLabel(variant), await planOf(variant.stack, variant.overrides));
    }
  });

  it("names every custom resource type of every plan variant", () => {
    const missing = [...plans].flatMap(([label, doc]) =>
      customResources(doc)
        .filter((resource) => resourceType(resource.type) === undefined)
        .map((resource) => `${resource.type} (${resource.name}, ${label})`),
    );
    assert.deepEqual(missing, [], "add these types to RESOURCE_TYPES in lib/resource-types.ts");
  });

  it("gives every planned type a deploy role, and a preview role, unless nothing in GCP serves it", () => {
    const types = new Set([...plans.values()].flatMap((doc) => customResources(doc).map((r) => r.type)));
    const withoutRoles = [...types].filter((type) => {
      const entry = resourceType(type);
      if (entry === undefined) return false; // reported by the test above
      const servedByGoogle = entry.api !== null || type.startsWith("kubernetes:");
      return servedByGoogle && (entry.deploy.length === 0 || entry.preview.length === 0);
    });
    assert.deepEqual(withoutRoles, []);
    // The identities are granted exactly the union, so the union covers every planned type.
    for (const type of types) {
      const entry = resourceType(type);
      for (const role of entry?.deploy ?? []) assert.ok(deployRoles().includes(role), `${type}: ${role}`);
      for (const role of entry?.preview ?? []) assert.ok(previewRoles().includes(role), `${type}: ${role}`);
    }
  });

  it("enables the API of every type, plus what project IAM grants and API enablement need", () => {
    const apis = requiredApis();
    for (const entry of Object.values(RESOURCE_TYPES)) {
      if (entry.api !== null)
        assert.ok(apis.includes(entry.api), `${entry.type}: ${entry.api} is not enabled`);
    }
    for (const api of ["cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com"] as const) {
      assert.ok(apis.includes(api), api);
    }
    assert.deepEqual(apis, [...new Set(apis)].sort(), "sorted, without duplicates");
  });

  it("grants only predefined roles, and the preview identity no admin role", () => {
    for (const role of [...deployRoles(), ...previewRoles()])
      assert.match(role, /^roles\/[a-z]+\.[A-Za-z]+$|^roles\/browser$/);
    assert.deepEqual(
      previewRoles().filter((role) => /admin/i.test(role)),
      [],
      "a preview identity must not be able to change the project",
    );
  });
});
