// The plan is only as faithful as the mocks' outputs: an input the program takes from another resource's
// output (router: router.name) must come out with a value, or the plan silently loses the input and the
// dependency that the real engine would record.
import assert from "node:assert/strict";

import type { PlanDocument, PlanResource } from "../../plan/types";
import { PLAN_TEST_TIMEOUT_MS, planOf } from "./helpers";

/** Keys of a path as the diff prints it: `a.b[0]["app.kubernetes.io/name"]` -> a, b, 0, app.kubernetes.io/name. */
function pathKeys(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  let parsed = 0;
  const token = /(?:^|\.)([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
  for (let match = token.exec(path); match !== null; match = token.exec(path)) {
    const [, identifier, index, quoted] = match;
    keys.push(identifier ?? (index === undefined ? (JSON.parse(quoted ?? '""') as string) : Number(index)));
    parsed = token.lastIndex;
  }
  assert.equal(parsed, path.length, `unparsable path ${path}`);
  return keys;
}

function valueAt(inputs: Record<string, unknown>, path: string): unknown {
  let value: unknown = inputs;
  for (const key of pathKeys(path)) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** `Type.path` of every output-derived input whose recorded value is missing. */
function lostReferences(plan: PlanDocument): string[] {
  return plan.resources.flatMap((resource) =>
    resource.inputsFromOutputs
      .filter(
        (path) => valueAt(resource.inputs, path) === undefined || valueAt(resource.inputs, path) === null,
      )
      .map((path) => `${resource.type} ${resource.name}: ${path}`),
  );
}

const only = (plan: PlanDocument, type: string): PlanResource => {
  const matches = plan.resources.filter((resource) => resource.type === type);
  assert.equal(matches.length, 1, `one ${type}`);
  return matches[0];
};

describe("plan references between resources", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);

  it("parses the diff's path syntax", () => {
    assert.deepEqual(pathKeys('spec.template.metadata.labels["app.kubernetes.io/name"]'), [
      "spec",
      "template",
      "metadata",
      "labels",
      "app.kubernetes.io/name",
    ]);
    assert.deepEqual(pathKeys("containers[0].env[12].value"), ["containers", 0, "env", 12, "value"]);
    assert.equal(valueAt({ a: [{ b: 1 }] }, "a[0].b"), 1);
  });

  for (const stack of ["dev", "prod"]) {
    for (const platform of ["gke", "cloudrun"]) {
      it(`${stack} on ${platform}: no input set from another resource's output comes out undefined`, async () => {
        const plan = await planOf(stack, { platform });

        const derived = plan.resources.flatMap((resource) => resource.inputsFromOutputs);
        assert.ok(derived.length > 10, `only ${derived.length} output-derived inputs recorded`);
        assert.deepEqual(lostReferences(plan), []);
      });
    }
  }

  it("prod: the NAT takes its router's name and depends on the router, as with the real engine", async () => {
    const plan = await planOf("prod");
    const router = only(plan, "gcp:compute/router:Router");
    const nat = only(plan, "gcp:compute/routerNat:RouterNat");

    assert.ok(
      nat.inputsFromOutputs.includes("router"),
      `RouterNat's inputsFromOutputs: ${nat.inputsFromOutputs.join(", ")}`,
    );
    assert.match(String(nat.inputs.router), new RegExp(`^${router.name}-[0-9a-f]{7}$`));
    assert.ok(nat.dependsOn.includes(router.urn), "RouterNat does not depend on the Router");
  });

  it("auto-names deterministically: two runs of a plan give the same names", async () => {
    const [first, second] = await Promise.all([planOf("prod"), planOf("prod", { platform: "gke" })]);
    const natRouter = (plan: PlanDocument) => only(plan, "gcp:compute/routerNat:RouterNat").inputs.router;

    assert.equal(natRouter(first), natRouter(second));
  });
});
