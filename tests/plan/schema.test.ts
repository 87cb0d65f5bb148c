// plan/plan.schema.json is the contract of `npm run plan -- --json`: real plans and diffs of the program
// validate against it, and documents that break it are rejected.
import assert from "node:assert/strict";

import { diffPlans } from "../../plan/diff";
import type { PlanDiff, PlanDocument } from "../../plan/types";
import { FIXTURE_ROOT, PLAN_TEST_TIMEOUT_MS, planOf, schemaErrors } from "./helpers";

/** A deep copy of `document` changed by `edit`, for documents that must fail validation. */
function broken<T>(document: T, edit: (copy: T) => void): T {
  const copy = structuredClone(document);
  edit(copy);
  return copy;
}

describe("plan.schema.json", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);

  for (const stack of ["dev", "prod"]) {
    for (const platform of ["gke", "cloudrun"]) {
      it(`accepts the ${stack} plan on ${platform}`, async () => {
        const plan = await planOf(stack, { platform });

        assert.ok(plan.resources.length > 20);
        assert.deepEqual(schemaErrors("plan", plan), []);
      });
    }
  }

  it("accepts the fixture program's plan", async () => {
    assert.deepEqual(schemaErrors("plan", await planOf("ok", {}, FIXTURE_ROOT)), []);
  });

  it("accepts a real diff with added, removed and changed resources", async () => {
    const diff = diffPlans(
      await planOf("dev", { platform: "cloudrun" }),
      await planOf("prod", { platform: "gke" }),
    );

    assert.ok(diff.added.length > 0 && diff.removed.length > 0 && diff.changed.length > 0);
    assert.deepEqual(schemaErrors("diff", diff), []);
  });

  it("rejects plans that break the format", async () => {
    const plan = await planOf("dev");
    const firstCustom = plan.resources.findIndex((resource) => resource.provider !== null);
    const breakages: [string, (copy: PlanDocument) => void][] = [
      ["a missing notice", (copy) => delete (copy as Partial<PlanDocument>).notice],
      ["an unknown top-level field", (copy) => Object.assign(copy, { extra: 1 })],
      [
        "a resource without inputs",
        (copy) => delete (copy.resources[0] as Partial<(typeof copy.resources)[0]>).inputs,
      ],
      ["a URN of the wrong form", (copy) => void ((copy.resources[0] ?? { urn: "" }).urn = "items-db")],
      [
        "a provider reference without an id",
        (copy) => {
          const resource = copy.resources[firstCustom];
          if (resource?.provider)
            resource.provider = resource.provider.slice(0, resource.provider.lastIndexOf("::"));
        },
      ],
      ["protect as a string", (copy) => Object.assign(copy.resources[0] ?? {}, { protect: "false" })],
      ["an input path of the wrong form", (copy) => void copy.resources[0]?.inputsFromOutputs.push("a..b")],
      [
        "a notice claiming to show replacements",
        (copy) => Object.assign(copy.notice, { showsReplacement: true }),
      ],
    ];

    for (const [what, edit] of breakages) {
      assert.notDeepEqual(schemaErrors("plan", broken(plan, edit)), [], `accepted ${what}`);
    }
    // A plan is not a diff, and the reverse.
    assert.notDeepEqual(schemaErrors("diff", plan), []);
  });

  it("rejects diffs that break the format", async () => {
    const diff = diffPlans(
      await planOf("dev", { platform: "cloudrun" }),
      await planOf("prod", { platform: "gke" }),
    );
    const breakages: [string, (copy: PlanDiff) => void][] = [
      [
        "a change with neither before nor after",
        (copy) => {
          const change = copy.changed[0]?.diff[0];
          if (change) {
            delete change.before;
            delete change.after;
          }
        },
      ],
      ["a changed resource with an empty diff", (copy) => void ((copy.changed[0] ?? { diff: [] }).diff = [])],
      [
        "an option path that is not an option",
        (copy) => void copy.changed[0]?.diff.push({ path: "@tags", after: 1 }),
      ],
      ["a missing removed list", (copy) => delete (copy as Partial<PlanDiff>).removed],
    ];

    for (const [what, edit] of breakages) {
      assert.notDeepEqual(schemaErrors("diff", broken(diff, edit)), [], `accepted ${what}`);
    }
  });
});
