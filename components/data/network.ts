import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import { findOverlap, parseCidr } from "../../lib/cidr";

/** Every Google API the stack uses, on either platform: both are enabled so `platform` can switch. */
export const REQUIRED_APIS = [
  "compute",
  "servicenetworking",
  "sqladmin",
  "redis",
  "secretmanager",
  "artifactregistry",
  "container",
  "run",
  "iam",
  "monitoring",
  "logging",
] as const;
export type RequiredApi = (typeof REQUIRED_APIS)[number];

export interface NetworkArgs {
  /** Region of the subnet, Cloud Router and Cloud NAT (required). */
  readonly region: string;
  /** Primary range of the subnet: GKE nodes and Cloud Run Direct VPC egress; default "10.0.0.0/20". */
  readonly subnetCidr?: string;
  /** Secondary range for GKE pods; default "10.4.0.0/14". */
  readonly podsCidr?: string;
  /** Secondary range for GKE services; default "10.8.0.0/20". */
  readonly servicesCidr?: string;
  /** Prefix length of the Private Service Access range (Cloud SQL, Memorystore); default 16. */
  readonly privateServiceAccessPrefixLength?: number;
}

export interface ResolvedNetworkArgs {
  readonly region: string;
  readonly subnetCidr: string;
  readonly podsCidr: string;
  readonly servicesCidr: string;
  readonly privateServiceAccessPrefixLength: number;
}

export function resolveNetworkArgs(args: NetworkArgs): ResolvedNetworkArgs {
  const resolved: ResolvedNetworkArgs = {
    region: args.region,
    subnetCidr: args.subnetCidr ?? "10.0.0.0/20",
    podsCidr: args.podsCidr ?? "10.4.0.0/14",
    servicesCidr: args.servicesCidr ?? "10.8.0.0/20",
    privateServiceAccessPrefixLength: args.privateServiceAccessPrefixLength ?? 16,
  };
  const cidrs = {
    subnetCidr: resolved.subnetCidr,
    podsCidr: resolved.podsCidr,
    servicesCidr: resolved.servicesCidr,
  };
  for (const [field, cidr] of Object.entries(cidrs)) {
    if (!parseCidr(cidr)) {
      throw new Error(`\`${field}\` must be a canonical IPv4 CIDR such as "10.0.0.0/20", got "${cidr}"`);
    }
  }
  const overlap = findOverlap(cidrs);
  if (overlap) throw new Error(`\`${overlap[0]}\` must not overlap \`${overlap[1]}\``);
  const prefix = resolved.privateServiceAccessPrefixLength;
  if (!Number.isInteger(prefix) || prefix < 8 || prefix > 24) {
    throw new Error(`\`privateServiceAccessPrefixLength\` must be an integer from 8 to 24, got ${prefix}`);
  }
  return resolved;
}

/**
 * The project's network: the APIs, a custom-mode VPC with one regional subnet (secondary ranges for
 * GKE), Private Service Access for Cloud SQL and Memorystore, and Cloud NAT for private nodes.
 */
export class Network extends pulumi.ComponentResource {
  public readonly networkId: pulumi.Output<string>;
  public readonly networkSelfLink: pulumi.Output<string>;
  public readonly subnetworkId: pulumi.Output<string>;
  public readonly subnetworkSelfLink: pulumi.Output<string>;
  public readonly podsRangeName: string;
  public readonly servicesRangeName: string;
  /** Name of the allocated Private Service Access range. */
  public readonly privateServiceAccessRangeName: pulumi.Output<string>;
  /** The peering with Google's service producers: private-IP Cloud SQL and Memorystore must wait for it. */
  public readonly privateServiceAccess: gcp.servicenetworking.Connection;
  /** The enabled APIs; resources of a fresh project must wait for theirs. */
  public readonly apis: Readonly<Record<RequiredApi, gcp.projects.Service>>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gcp-async-api:gcp:Network", name, {}, opts);
    const resolved = resolveNetworkArgs(args);

    const apis = Object.fromEntries(
      REQUIRED_APIS.map((api) => [
        api,
        // Leaving APIs on at destroy: other stacks in the project may use them, and disabling
        // them can take dependent services down.
        new gcp.projects.Service(
          `${name}-api-${api}`,
          { service: `${api}.googleapis.com`, disableOnDestroy: false },
          { parent: this },
        ),
      ]),
    ) as Record<RequiredApi, gcp.projects.Service>;

    const vpc = new gcp.compute.Network(
      `${name}-vpc`,
      { autoCreateSubnetworks: false, routingMode: "REGIONAL" },
      { parent: this, dependsOn: [apis.compute] },
    );
    this.podsRangeName = `${name}-pods`;
    this.servicesRangeName = `${name}-services`;
    const subnet = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      {
        network: vpc.id,
        region: resolved.region,
        ipCidrRange: resolved.subnetCidr,
        // Nodes and Cloud Run egress have no external IPs; they reach Google APIs privately.
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: this.podsRangeName, ipCidrRange: resolved.podsCidr },
          { rangeName: this.servicesRangeName, ipCidrRange: resolved.servicesCidr },
        ],
      },
      { parent: this },
    );

    const privateServiceRange = new gcp.compute.GlobalAddress(
      `${name}-psa-range`,
      {
        network: vpc.id,
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        prefixLength: resolved.privateServiceAccessPrefixLength,
      },
      { parent: this },
    );
    this.privateServiceAccess = new gcp.servicenetworking.Connection(
      `${name}-psa`,
      {
        network: vpc.id,
        service: "servicenetworking.googleapis.com",
        reservedPeeringRanges: [privateServiceRange.name],
        // Google keeps the peering busy for a while after Cloud SQL and Memorystore are deleted, so
        // deleting it fails `destroy` (terraform-provider-google#16275). Abandoning it lets destroy
        // finish; the peering goes away with the VPC.
        deletionPolicy: "ABANDON",
      },
      { parent: this, dependsOn: [apis.servicenetworking] },
    );

    // Private GKE nodes have no external IPs: Cloud NAT gives them (and Cloud Run's VPC egress)
    // outbound internet access, e.g. for image pulls outside Artifact Registry.
    const router = new gcp.compute.Router(
      `${name}-router`,
      { network: vpc.id, region: resolved.region },
      { parent: this },
    );
    new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        router: router.name,
        region: resolved.region,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
        // Many pods per node open many connections: ports follow demand instead of a fixed 64 per VM.
        enableDynamicPortAllocation: true,
        enableEndpointIndependentMapping: false,
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      { parent: this },
    );

    this.apis = apis;
    this.networkId = vpc.id;
    this.networkSelfLink = vpc.selfLink;
    this.subnetworkId = subnet.id;
    this.subnetworkSelfLink = subnet.selfLink;
    this.privateServiceAccessRangeName = privateServiceRange.name;
    this.registerOutputs({
      networkId: this.networkId,
      networkSelfLink: this.networkSelfLink,
      subnetworkId: this.subnetworkId,
      subnetworkSelfLink: this.subnetworkSelfLink,
      podsRangeName: this.podsRangeName,
      servicesRangeName: this.servicesRangeName,
      privateServiceAccessRangeName: this.privateServiceAccessRangeName,
    });
  }
}
