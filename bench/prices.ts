// The one dated list-price table the capacity plan turns into monthly compute cost. Every figure names
// where it was read and when; a figure nobody could read is absent, never guessed (the plan then says
// so). List prices in USD before free tiers, committed-use discounts and taxes. Update a figure by
// reading its source again and changing `asOf` with it.

/** Hours in a month as Google's pricing calculator counts them (and Compute Engine's monthly figures). */
export const HOURS_PER_MONTH = 730;

export interface PriceSource {
  /** Where the figure was read. */
  readonly url: string;
  /** Date of the read, or the date the source states for its own data. */
  readonly asOf: string;
  /** How directly the figure was seen there. */
  readonly evidence: string;
}

export interface ListPrice {
  readonly usd: number;
  readonly unit: string;
  readonly source: PriceSource;
}

export interface CloudRunPrices {
  /** Instance-based billing ("CPU always allocated"): every second of every instance, no request fee. */
  readonly instanceBased: { readonly vcpuSecond: ListPrice; readonly gibSecond: ListPrice };
  /** Request-based billing (the default): instance time while it handles a request, plus a fee per request. */
  readonly requestBased: {
    readonly vcpuSecond: ListPrice;
    readonly gibSecond: ListPrice;
    readonly perMillionRequests: ListPrice;
    /** Minimum instances kept warm while no request runs. */
    readonly idleVcpuSecond: ListPrice;
    readonly idleGibSecond: ListPrice;
  };
}

export interface RegionPrices {
  /** On-demand price per hour of a Compute Engine machine type (vCPU + memory, no disk). */
  readonly machineHour: { readonly usd: Readonly<Record<string, number>>; readonly source: PriceSource };
  readonly cloudRun: CloudRunPrices;
}

export interface PriceTable {
  /** GKE Standard cluster management fee, the same in every region. */
  readonly gkeClusterHour: ListPrice;
  /** Monthly GKE credit per billing account; it only pays the fee of zonal and Autopilot clusters. */
  readonly gkeFreeTierMonthlyCredit: ListPrice;
  readonly regions: Readonly<Record<string, RegionPrices>>;
}

const GKE_PRICING: PriceSource = {
  url: "https://cloud.google.com/kubernetes-engine/pricing",
  asOf: "2026-11-30",
  evidence:
    'stored copy of the page: "A flat cluster management fee of $0.10 per cluster per hour (charged in 1 second increments) applies to all GKE clusters"; "$74.40 in monthly credits per billing account ... only applied to zonal and Autopilot clusters"',
};

const COMPUTE_SKUS: PriceSource = {
  url: "https://github.com/Cyclenerd/google-cloud-pricing-cost-calculator/blob/fd66b26ff84fee5cdd94f341ea89206e76c06b99/pricing.yml",
  asOf: "2026-07-30",
  evidence:
    "pricing.yml (generated 2026-07-30 from the Cloud Billing Catalog API SKUs), compute.instance.MACHINE_TYPE.cost.europe-west1.hour; https://cloud.google.com/compute/vm-instance-pricing could not be read past its introduction",
};

const RUN_PRICING = "https://cloud.google.com/run/pricing";

/** firebase-tools transcribes the Cloud Run pricing page's Tier 1 request-based rates (V2_RATES). */
const RUN_REQUEST_BASED: PriceSource = {
  url: RUN_PRICING,
  asOf: "2026-11-30",
  evidence:
    "Tier 1 as transcribed from the page in firebase-tools src/deploy/functions/pricing.ts at 22a3f1eee654e6b44883eb32bafef09ce6308255 (V2_RATES tier 1: memoryGb, invocations, idleVCpu; it bills idle memory at memoryGb); the stored copy of the page was readable only up to its first Tier 1 row",
};

export const PRICE_TABLE: PriceTable = {
  gkeClusterHour: { usd: 0.1, unit: "cluster-hour", source: GKE_PRICING },
  gkeFreeTierMonthlyCredit: { usd: 74.4, unit: "billing account-month", source: GKE_PRICING },
  regions: {
    // Belgium; a Cloud Run Tier 1 region (firebase-tools V2_REGION_TO_TIER).
    "europe-west1": {
      machineHour: {
        source: COMPUTE_SKUS,
        usd: {
          "e2-standard-2": 0.07371546,
          "e2-standard-4": 0.14743092,
          "e2-standard-8": 0.29486184,
          "e2-standard-16": 0.58972368,
          "e2-standard-32": 1.17944736,
          "e2-highcpu-8": 0.21767568,
          "e2-highcpu-16": 0.43535136,
          "e2-highcpu-32": 0.87070272,
          "n2-standard-2": 0.106834,
          "n2-standard-4": 0.213668,
          "n2-standard-8": 0.427336,
          "n2-standard-16": 0.854672,
          "n2-standard-32": 1.709344,
          "n2-highcpu-8": 0.315472,
          "n2-highcpu-16": 0.630944,
          "n2-highcpu-32": 1.261888,
          "n2d-standard-4": 0.185892,
          "n2d-standard-8": 0.371784,
          "n2d-standard-16": 0.743568,
          "c2-standard-4": 0.2297,
          "c2-standard-8": 0.4594,
          "c2-standard-16": 0.9188,
          "c3-standard-4": 0.22199056,
          "c3-standard-8": 0.44398112,
          "c3-standard-22": 1.22094808,
          "c3-highcpu-8": 0.37460304,
          "c3-highcpu-22": 1.03015836,
          "t2d-standard-4": 0.185892,
          "t2d-standard-8": 0.371784,
          "t2d-standard-16": 0.743568,
        },
      },
      cloudRun: {
        instanceBased: {
          vcpuSecond: {
            usd: 0.000018,
            unit: "vCPU-second",
            source: {
              url: RUN_PRICING,
              asOf: "2026-11-30",
              evidence:
                'stored copy of the page, Tier 1: "Services with CPU always allocated / Jobs: $0.00001800 / vCPU-second beyond free tier"',
            },
          },
          gibSecond: {
            usd: 0.000002,
            unit: "GiB-second",
            source: {
              url: RUN_PRICING,
              asOf: "2026-11-30",
              evidence:
                'not readable in the stored copy of the page; "$0.00000200 / GiB-second" is how several public write-ups quote its Tier 1 instance-based row (found by the search tool, none of them Google\'s)',
            },
          },
        },
        requestBased: {
          vcpuSecond: {
            usd: 0.000024,
            unit: "vCPU-second",
            source: {
              url: RUN_PRICING,
              asOf: "2026-11-30",
              evidence:
                'stored copy of the page, Tier 1, CPU only allocated during request processing: "$0.00002400 / vCPU-second beyond free tier"',
            },
          },
          gibSecond: { usd: 0.0000025, unit: "GiB-second", source: RUN_REQUEST_BASED },
          perMillionRequests: { usd: 0.4, unit: "million requests", source: RUN_REQUEST_BASED },
          idleVcpuSecond: { usd: 0.0000025, unit: "idle vCPU-second", source: RUN_REQUEST_BASED },
          idleGibSecond: { usd: 0.0000025, unit: "idle GiB-second", source: RUN_REQUEST_BASED },
        },
      },
    },
  },
};
