import * as assert from "node:assert/strict";

import type { PlanDocument } from "../../plan/types";
import { dataTier, Inventory, planOf, type PlannedResource } from "./inventory";
import { STACKS } from "../../lib/stack-files";

/** The data tier of a plan by URN. */
function dataTierByUrn(doc: PlanDocument): Map<string, Omit<PlannedResource, "urn">> {
  return new Map(dataTier(new Inventory(doc.resources)).resources.map(({ urn, ...rest }) => [urn, rest]));
}

for (const stack of STACKS) {
  describe(`platform toggle on the ${stack} stack`, () => {
    let onGke: PlanDocument;
    let onCloudRun: PlanDocument;

    before(async () => {
      [onGke, onCloudRun] = await Promise.all([
        planOf(stack, { platform: "gke" }),
        planOf(stack, { platform: "cloudrun" }),
      ]);
    });

    it("really switches the platform (the comparison below is between different programs)", () => {
      const types = (doc: PlanDocument) => new Set(doc.resources.map((resource) => resource.type));
      assert.ok(types(onGke).has("items-api:gcp:GkeCluster"), "platform=gke has no GkeCluster");
      assert.ok(!types(onGke).has("items-api:gcp:CloudRunService"), "platform=gke has a CloudRunService");
      assert.ok(types(onCloudRun).has("items-api:gcp:CloudRunService"), "platform=cloudrun has no service");
      assert.ok(!types(onCloudRun).has("items-api:gcp:GkeCluster"), "platform=cloudrun has a GkeCluster");
    });

    it("keeps every data-tier URN", () => {
      const gkeUrns = [...dataTierByUrn(onGke).keys()].sort();
      const cloudRunUrns = [...dataTierByUrn(onCloudRun).keys()].sort();
      for (const name of [
        "gcp",
        "items-net-vpc",
        "items-db-primary",
        "items-apis-sqladmin",
        "items-db-replica-reads",
        "items-cache-redis",
        "items-image",
      ]) {
        assert.ok(
          gkeUrns.some((urn) => urn.endsWith(`::${name}`)),
          `"${name}" is missing from the data tier:\n${gkeUrns.join("\n")}`,
        );
      }
      assert.deepEqual(cloudRunUrns, gkeUrns);
    });

    it("keeps every data-tier input, dependency, parent and provider", () => {
      const cloudRun = dataTierByUrn(onCloudRun);
      const changed = [...dataTierByUrn(onGke)]
        .filter(([urn, resource]) => {
          try {
            assert.deepStrictEqual(cloudRun.get(urn), resource);
            return false;
          } catch {
            return true;
          }
        })
        .map(([urn, resource]) => ({ urn, gke: resource, cloudrun: cloudRun.get(urn) }));
      assert.deepEqual(changed, [], "these data-tier resources differ between the platforms");
    });
  });
}
