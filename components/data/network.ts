import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

import type { StackConfig } from "../../config";
import { parseCidr } from "../../lib/cidr";

export interface NetworkArgs {
  /** Region of the subnet, Cloud Router and Cloud NAT. */
  readonly region: string;
  /** The stack's `network` settings (config.ts owns their defaults and the no-overlap rule). */
  readonly settings: StackConfig["network"];
  /** Pulumi `protect` on the private-service-access connection (Cloud SQL and Memorystore hang on it). */
  readonly protectPrivateServiceAccess: boolean;
}

/** The pinned private-service-access range as GlobalAddress wants it: first address and prefix length. */
export function addressRange(cidr: string): { readonly address: string; readonly prefixLength: number } {
  if (!parseCidr(cidr)) throw new Error(`"${cidr}" is not a canonical IPv4 CIDR`);
  const [address, prefix] = cidr.split("/");
  return { address, prefixLength: Number(prefix) };
}

/**
 * The project's network: a custom-mode VPC with one regional subnet (secondary ranges for
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

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:Network", name, {}, opts);
    const { settings } = args;

    const vpc = new gcp.compute.Network(
      `${name}-vpc`,
      { autoCreateSubnetworks: false, routingMode: "REGIONAL" },
      { parent: this },
    );
    this.podsRangeName = `${name}-pods`;
    this.servicesRangeName = `${name}-services`;
    const subnet = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      {
        network: vpc.id,
        region: args.region,
        ipCidrRange: settings.subnetCidr,
        // Nodes and Cloud Run egress have no external IPs; they reach Google APIs privately.
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: this.podsRangeName, ipCidrRange: settings.podsCidr },
          { rangeName: this.servicesRangeName, ipCidrRange: settings.servicesCidr },
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
        ...addressRange(settings.privateServiceAccessCidr),
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
      { parent: this, protect: args.protectPrivateServiceAccess },
    );

    // Private GKE nodes have no external IPs: Cloud NAT gives them (and Cloud Run's VPC egress)
    // outbound internet access, e.g. for image pulls outside Artifact Registry.
    const router = new gcp.compute.Router(
      `${name}-router`,
      { network: vpc.id, region: args.region },
      { parent: this },
    );
    new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        router: router.name,
        region: args.region,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
        // Many pods per node open many connections: ports follow demand instead of a fixed 64 per VM.
        enableDynamicPortAllocation: true,
        enableEndpointIndependentMapping: false,
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      { parent: this },
    );

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
