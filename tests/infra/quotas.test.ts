import * as assert from "node:assert/strict";

import { parseStackConfig } from "../../config";
import { rawStackConfig } from "../../lib/stack-files";
import { machineVcpus, maxSurgeWithinPool, nodePoolShape, quotaRows } from "../../lib/quotas";

/** The node pool components/gke/cluster.ts builds today: 50 GB boot disks, three 1-vCPU pods per node. */
const POOL = { nodeDiskSizeGb: 50, podsPerNode: 3 };

describe("quotas (lib/quotas.ts)", () => {
  // The prod stack with its GKE pool pinned (40 nodes per zone, 354 replicas), so the figures stay
  // hand-checkable when prod is re-sized.
  const raw = rawStackConfig("prod");
  const prod = parseStackConfig({
    ...raw,
    "items-api:gke": JSON.stringify({
      ...(JSON.parse(raw["items-api:gke"]) as object),
      maxNodes: 40,
      maxReplicas: 354,
    }),
  });

  it("prod at full scale needs 480 vCPUs and 6,000 GB of SSD on GKE, 417 Cloud Run instances", () => {
    const rows = quotaRows(
      prod,
      { cpus: 24, ssdTotalGb: 500, cloudRunInstances: 100, directVpcEgressInstances: 100 },
      POOL,
    );
    assert.deepEqual(
      rows.map(({ need, ok }) => ({ need, ok })),
      [
        { need: 480, ok: false },
        { need: 6000, ok: false },
        { need: 417, ok: false },
        { need: 417, ok: false },
      ],
    );
    for (const row of rows) assert.match(row.howToIncrease, /Quotas/);
    assert.equal(rows[0].quota, "CPUS");
    assert.equal(rows[0].region, "europe-west1");
  });

  it("derives the pool from the stack: 3 one-vCPU pods on e2-standard-4, 50 GB disks", () => {
    assert.deepEqual(nodePoolShape(prod), POOL);
  });

  it("a grant equal to the need is enough", () => {
    const rows = quotaRows(
      prod,
      { cpus: 480, ssdTotalGb: 6000, cloudRunInstances: 417, directVpcEgressInstances: 417 },
      POOL,
    );
    assert.ok(rows.every((row) => row.ok));
  });

  it("bounds the rollout surge at peak by the pool's maximum", () => {
    // 120 nodes x 3 pods = 360 pods; at 354 replicas only 6 more fit, far below Kubernetes' 25% (89).
    assert.equal(maxSurgeWithinPool(prod.gke, POOL), 6);
    assert.equal(maxSurgeWithinPool({ ...prod.gke, maxReplicas: 400 }, POOL), 0);
  });

  it("reads the vCPUs from the machine type", () => {
    assert.equal(machineVcpus("e2-standard-4"), 4);
    assert.throws(() => machineVcpus("e2-medium"), /e2-medium/);
  });
});
