// What a stack needs of the project's regional quotas at full scale, against what the project was
// granted. Pure: the capacity printer, config rules and the policy pack call it.
//
// Grants are inputs, never defaults: Google does not publish fixed default quotas for a new
// project ("Not all projects have the same quotas", Compute Engine allocation quotas page; Cloud
// Run's maximum instances follow the regional CPU and memory quotas, "About maximum instances"),
// so the stack must state what its project was granted (Cloud console, IAM & Admin > Quotas).
import type { StackConfig } from "../config";

export interface QuotaGrants {
  /** Compute Engine `CPUS` in the region (GKE nodes). */
  readonly cpus: number;
  /** Compute Engine `SSD_TOTAL_GB` in the region (pd-balanced and pd-ssd node boot disks). */
  readonly ssdTotalGb: number;
  /** Cloud Run instances one service may scale to in the region. */
  readonly cloudRunInstances: number;
  /** Cloud Run instances one revision may run with Direct VPC egress. */
  readonly directVpcEgressInstances: number;
}

export interface QuotaRow {
  readonly quota: string;
  readonly need: number;
  readonly grant: number;
  readonly ok: boolean;
  readonly howToIncrease: string;
}

/** How the GKE node pool is built (components/gke/cluster.ts owns these values). */
export interface NodePoolShape {
  /** Boot disk per node, GB. */
  readonly nodeDiskSizeGb: number;
  /** API pods one node holds next to the system pods. */
  readonly podsPerNode: number;
}

const COMPUTE_QUOTAS =
  "Cloud console > IAM & Admin > Quotas, service Compute Engine API, filter by the region; increases take days";
const CLOUD_RUN_QUOTAS =
  "Cloud console > IAM & Admin > Quotas, service Cloud Run Admin API, filter by the region";

/** vCPUs of a Compute Engine machine type whose name ends in its vCPU count (e2-standard-4 → 4). */
export function machineVcpus(machineType: string): number {
  const match = /-(\d+)$/.exec(machineType);
  if (!match) throw new Error(`cannot tell the vCPUs of machine type "${machineType}"`);
  return Number(match[1]);
}

/** Zones a GKE node pool spans: a regional cluster puts nodes in three zones. */
const zonesOf = (gke: StackConfig["gke"]) => (gke.regional ? 3 : 1);

/** Nodes of the pool at its maximum. */
export function maxNodes(gke: StackConfig["gke"]): number {
  return gke.maxNodes * zonesOf(gke);
}

/**
 * The largest maxSurge of the API Deployment that still fits a rollout at peak: at gke.maxReplicas,
 * a rollout adds maxSurge pods, and all must fit the pool at its maximum.
 */
export function maxSurgeWithinPool(gke: StackConfig["gke"], pool: NodePoolShape): number {
  return Math.max(0, maxNodes(gke) * pool.podsPerNode - gke.maxReplicas);
}

/** Every quota the stack touches at full scale, on either platform (`platform` can switch any time). */
export function quotaRows(cfg: StackConfig, grants: QuotaGrants, pool: NodePoolShape): QuotaRow[] {
  const row = (quota: string, need: number, grant: number, howToIncrease: string): QuotaRow => ({
    quota,
    need,
    grant,
    ok: need <= grant,
    howToIncrease,
  });
  const nodes = maxNodes(cfg.gke);
  return [
    row(
      `CPUS (${cfg.gcp.region}, GKE nodes)`,
      nodes * machineVcpus(cfg.gke.machineType),
      grants.cpus,
      COMPUTE_QUOTAS,
    ),
    row(
      `SSD_TOTAL_GB (${cfg.gcp.region}, GKE boot disks)`,
      nodes * pool.nodeDiskSizeGb,
      grants.ssdTotalGb,
      COMPUTE_QUOTAS,
    ),
    row(
      `Cloud Run instances per service (${cfg.gcp.region})`,
      cfg.cloudrun.maxInstances,
      grants.cloudRunInstances,
      CLOUD_RUN_QUOTAS,
    ),
    row(
      `Direct VPC egress instances per revision (${cfg.gcp.region})`,
      cfg.cloudrun.maxInstances,
      grants.directVpcEgressInstances,
      CLOUD_RUN_QUOTAS,
    ),
  ];
}
