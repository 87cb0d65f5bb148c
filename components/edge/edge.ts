import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** One backend service of the edge and its share of the traffic (weights are percentages). */
export interface WeightedBackend {
  readonly backendService: pulumi.Input<string>;
  readonly weight: number;
}

export interface EdgeArgs {
  /** GCP project id (required). */
  readonly project: string;
  /** DNS name served over HTTPS with a Google-managed certificate; default none (plain HTTP on the IP). */
  readonly domain?: string;
  /** Lowest TLS version the HTTPS listener accepts (required). */
  readonly minTlsVersion: "TLS_1_2" | "TLS_1_3";
  /** The backend services and their weights, adding up to 100 (required, at least one). */
  readonly backends: readonly WeightedBackend[];
  /** Enabled APIs the resources wait for (compute); default none. */
  readonly apis?: readonly pulumi.Resource[];
}

type UrlMapRoutes = Pick<
  gcp.compute.URLMapArgs,
  "defaultRouteAction" | "defaultUrlRedirect" | "hostRules" | "pathMatchers"
>;

/** Name of the URL map's only path matcher, the one the domain's host rule points at. */
const API_PATH_MATCHER = "api";

/** Checks the backends and their weights; throws a message naming the field. */
export function resolveEdgeBackends(backends: readonly WeightedBackend[]): readonly WeightedBackend[] {
  if (backends.length === 0) throw new Error("`backends` must name at least one backend service");
  for (const { weight } of backends) {
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw new Error(`\`backends[].weight\` must be an integer from 0 to 100, got ${weight}`);
    }
  }
  const total = backends.reduce((sum, backend) => sum + backend.weight, 0);
  if (total !== 100) throw new Error(`\`backends[].weight\` must add up to 100, got ${total}`);
  return backends;
}

/**
 * The URL map's routing. Always weighted backend services, even with one backend at 100, so moving
 * between platforms changes only the list's entries and weights. With a domain, only that host is
 * served and any other Host header (the bare IP included) is redirected to it.
 */
export function urlMapRoutes(domain: string | undefined, backends: readonly WeightedBackend[]): UrlMapRoutes {
  const routeAction = {
    weightedBackendServices: backends.map(({ backendService, weight }) => ({ backendService, weight })),
  };
  if (domain === undefined) return { defaultRouteAction: routeAction };
  return {
    defaultUrlRedirect: { hostRedirect: domain, httpsRedirect: true, stripQuery: false },
    hostRules: [{ hosts: [domain], pathMatcher: API_PATH_MATCHER }],
    pathMatchers: [{ name: API_PATH_MATCHER, defaultRouteAction: routeAction }],
  };
}

/**
 * The front door of both platforms: a global external Application Load Balancer (EXTERNAL_MANAGED)
 * owned by this program. With a domain: HTTPS with a Google-managed certificate and a TLS policy on
 * 443, and port 80 only redirects to HTTPS. Without one: plain HTTP on the reserved IP. The address,
 * certificate, TLS policy and proxies do not depend on which platforms are behind it.
 */
export class Edge extends pulumi.ComponentResource {
  /** `https://<domain>`, or `http://<ip>` without a domain. */
  public readonly url: pulumi.Output<string>;
  /** The reserved global IPv4 address the domain's A record points at. */
  public readonly ipAddress: pulumi.Output<string>;
  /** Name of the URL map: Cloud Monitoring's `url_map_name` label of the load balancer's metrics. */
  public readonly urlMapName: pulumi.Output<string>;
  /** What an operator must know about how the edge serves (plain HTTP, or the DNS record to create). */
  public readonly note: pulumi.Output<string>;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:Edge", name, {}, opts);
    const backends = resolveEdgeBackends(args.backends);
    const { project, domain } = args;
    const childOpts = { parent: this, dependsOn: [...(args.apis ?? [])] };
    const forwarding = { project, loadBalancingScheme: "EXTERNAL_MANAGED", ipProtocol: "TCP" };

    const address = new gcp.compute.GlobalAddress(
      `${name}-ip`,
      { project, addressType: "EXTERNAL", ipVersion: "IPV4" },
      childOpts,
    );
    const urlMap = new gcp.compute.URLMap(
      name,
      { project, description: "Items API edge", ...urlMapRoutes(domain, backends) },
      childOpts,
    );

    if (domain === undefined) {
      const httpProxy = new gcp.compute.TargetHttpProxy(
        `${name}-http`,
        { project, urlMap: urlMap.id },
        childOpts,
      );
      new gcp.compute.GlobalForwardingRule(
        `${name}-http`,
        { ...forwarding, ipAddress: address.id, portRange: "80", target: httpProxy.id },
        childOpts,
      );
    } else {
      const certificate = new gcp.compute.ManagedSslCertificate(
        `${name}-cert`,
        { project, managed: { domains: [domain] } },
        // Auto-named, so a new domain gets a new certificate before the proxy lets go of the old one.
        childOpts,
      );
      const tlsPolicy = new gcp.compute.SSLPolicy(
        `${name}-tls`,
        { project, profile: "MODERN", minTlsVersion: args.minTlsVersion },
        childOpts,
      );
      const httpsProxy = new gcp.compute.TargetHttpsProxy(
        `${name}-https`,
        { project, urlMap: urlMap.id, sslCertificates: [certificate.id], sslPolicy: tlsPolicy.id },
        childOpts,
      );
      new gcp.compute.GlobalForwardingRule(
        `${name}-https`,
        { ...forwarding, ipAddress: address.id, portRange: "443", target: httpsProxy.id },
        childOpts,
      );

      // Port 80 answers every request with a permanent redirect to the same URL over HTTPS.
      const redirectMap = new gcp.compute.URLMap(
        `${name}-https-redirect`,
        {
          project,
          description: "Items API edge: HTTP to HTTPS",
          defaultUrlRedirect: {
            httpsRedirect: true,
            redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT",
            stripQuery: false,
          },
        },
        childOpts,
      );
      const redirectProxy = new gcp.compute.TargetHttpProxy(
        `${name}-http`,
        { project, urlMap: redirectMap.id },
        childOpts,
      );
      new gcp.compute.GlobalForwardingRule(
        `${name}-http`,
        { ...forwarding, ipAddress: address.id, portRange: "80", target: redirectProxy.id },
        childOpts,
      );
    }

    this.ipAddress = address.address;
    this.urlMapName = urlMap.name;
    this.url =
      domain === undefined
        ? pulumi.interpolate`http://${address.address}`
        : pulumi.output(`https://${domain}`);
    this.note =
      domain === undefined
        ? pulumi.interpolate`No edge.domain: the API is served over plain HTTP on ${address.address}, without TLS. Set edge.domain for HTTPS.`
        : pulumi.interpolate`Point an A record for ${domain} at ${address.address}; the managed certificate is issued once it resolves (usually 15-60 minutes), until then HTTPS fails and HTTP redirects to it.`;
    this.registerOutputs({
      url: this.url,
      ipAddress: this.ipAddress,
      urlMapName: this.urlMapName,
      note: this.note,
    });
  }
}
