// What a stack needs of the project's regional quotas at full scale, against what the project was
// granted. Pure: config.ts's rules, the capacity printer and the policy pack call it.
//
// Google publishes no fixed default for these quotas ("Not all projects have the same quotas",
// Compute Engine allocation quotas page; Cloud Run's container instances "depend on selected region
// and CPU and memory configurations", Cloud Run quotas page), so config.ts's defaults are
// conservative values for a new project and each stack states what its project was granted
// (Cloud console, IAM & Admin > Quotas).
import { parseCpuCores } from "../components/workload/api-environment";
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

/** The settings a quota need depends on (config.ts passes its values before its final transform). */
export interface QuotaSettings {
  readonly platform: StackConfig["platform"];
  readonly gcp: { readonly region: string };
  readonly app: { readonly cpu: string };
  readonly gke: Pick<
    StackConfig["gke"],
    "regional" | "maxNodes" | "machineType" | "diskSizeGb" | "maxReplicas"
  >;
  readonly cloudrun: Pick<StackConfig["cloudrun"], "maxInstances">;
}

export interface QuotaRow {
  /** The quota's name in the Cloud console. */
  readonly quota: string;
  /** Its field under `items-api:quotas`. */
  readonly grantKey: keyof QuotaGrants;
  readonly platform: "gke" | "cloudrun";
  readonly region: string;
  readonly need: number;
  readonly grant: number;
  readonly ok: boolean;
  readonly howToIncrease: string;
}

/** How the GKE node pool is built. */
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

/** Share of a node's vCPUs GKE leaves to pods (the rest is reserved for the kubelet and system). */
export const NODE_ALLOCATABLE_CPU_SHARE = 0.9;

/** vCPUs of a Compute Engine machine type whose name ends in its vCPU count (e2-standard-4 → 4). */
export function machineVcpus(machineType: string): number {
  const match = /-(\d+)$/.exec(machineType);
  if (!match) throw new Error(`cannot tell the vCPUs of machine type "${machineType}"`);
  return Number(match[1]);
}

/**
 * The node pool of a stack. Pods per node by CPU, as bench/capacity-plan.ts's nodesFor (which also
 * bounds by memory and needs its machine table); computed here because config.ts calls this and
 * bench/capacity-plan.ts imports config.ts.
 */
export function nodePoolShape(settings: QuotaSettings): NodePoolShape {
  return {
    nodeDiskSizeGb: settings.gke.diskSizeGb,
    podsPerNode: Math.floor(
      (machineVcpus(settings.gke.machineType) * NODE_ALLOCATABLE_CPU_SHARE) / parseCpuCores(settings.app.cpu),
    ),
  };
}

/** Zones a GKE node pool spans: a regional cluster puts nodes in three zones. */
const zonesOf = (gke: QuotaSettings["gke"]) => (gke.regional ? 3 : 1);

/** Nodes of the pool at its maximum. */
export function maxNodes(gke: QuotaSettings["gke"]): number {
  return gke.maxNodes * zonesOf(gke);
}

/**
 * The largest maxSurge of the API Deployment that still fits a rollout at peak: at gke.maxReplicas,
 * a rollout adds maxSurge pods, and all must fit the pool at its maximum.
 */
export function maxSurgeWithinPool(gke: QuotaSettings["gke"], pool: NodePoolShape): number {
  return Math.max(0, maxNodes(gke) * pool.podsPerNode - gke.maxReplicas);
}

/** What the deployed resources need at full scale, by platform; a platform not present is absent. */
export interface QuotaNeeds {
  readonly gke?: { readonly vcpus: number; readonly ssdGb: number };
  readonly cloudrun?: { readonly maxInstances: number };
}

/** The quota rows of `needs` against `grants` in one region: the config rules and the policy pack share it. */
export function rowsForNeeds(region: string, needs: QuotaNeeds, grants: QuotaGrants): QuotaRow[] {
  const row = (
    quota: string,
    grantKey: keyof QuotaGrants,
    platform: QuotaRow["platform"],
    need: number,
  ): QuotaRow => ({
    quota,
    grantKey,
    platform,
    region,
    need,
    grant: grants[grantKey],
    ok: need <= grants[grantKey],
    howToIncrease: platform === "gke" ? COMPUTE_QUOTAS : CLOUD_RUN_QUOTAS,
  });
  return [
    ...(needs.gke
      ? [
          row("CPUS", "cpus", "gke", needs.gke.vcpus),
          row("SSD_TOTAL_GB", "ssdTotalGb", "gke", needs.gke.ssdGb),
        ]
      : []),
    ...(needs.cloudrun
      ? [
          row(
            "Cloud Run instances per service",
            "cloudRunInstances",
            "cloudrun",
            needs.cloudrun.maxInstances,
          ),
          row(
            "Direct VPC egress instances per revision",
            "directVpcEgressInstances",
            "cloudrun",
            needs.cloudrun.maxInstances,
          ),
        ]
      : []),
  ];
}

/** Every quota the stack touches at full scale, on either platform. */
export function quotaRows(
  cfg: QuotaSettings,
  grants: QuotaGrants,
  pool: NodePoolShape = nodePoolShape(cfg),
): QuotaRow[] {
  const nodes = maxNodes(cfg.gke);
  const needs: QuotaNeeds = {
    gke: { vcpus: nodes * machineVcpus(cfg.gke.machineType), ssdGb: nodes * pool.nodeDiskSizeGb },
    cloudrun: { maxInstances: cfg.cloudrun.maxInstances },
  };
  return rowsForNeeds(cfg.gcp.region, needs, grants);
}

/** Whether the stack deploys the row's platform (`both` deploys each): only those rows are enforced. */
export const isDeployed = (cfg: Pick<QuotaSettings, "platform">, row: QuotaRow): boolean =>
  cfg.platform === "both" || row.platform === cfg.platform;

/** The rows of the platforms the stack deploys. */
export function deployedQuotaRows(cfg: QuotaSettings, grants: QuotaGrants): QuotaRow[] {
  return quotaRows(cfg, grants).filter((row) => isDeployed(cfg, row));
}

/** Why a row is refused: the quota, the need, the grant and where to ask for more. */
export function quotaShortfall(row: QuotaRow): string {
  return (
    `the stack on ${row.platform} needs ${row.need} ${row.quota} in ${row.region}, the project is granted ` +
    `${row.grant}: request an increase at ${row.howToIncrease}, then set quotas.${row.grantKey}`
  );
}
