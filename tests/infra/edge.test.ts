// The edge tier against the offline plans of both stacks under every platform value: one front door
// whose address, certificate, hosts, HTTPS proxy and Cloud Armor policy never change with the
// platform, weighted routes to the platforms' backend services, and the backends themselves.
import * as assert from "node:assert/strict";

import { GOOGLE_LOAD_BALANCER_RANGES } from "../../components/edge/gke-backend";
import { DEFAULT_RULE_PRIORITY, INTERNAL_PATHS_EXPRESSION } from "../../components/edge/security-policy";
import type { PlanDocument } from "../../plan/types";
import { Inventory, planOf, T, type PlannedResource } from "./inventory";
import { stackConfig, STACKS } from "../../lib/stack-files";

const E = {
  urlMap: "gcp:compute/uRLMap:URLMap",
  backendService: "gcp:compute/backendService:BackendService",
  securityPolicy: "gcp:compute/securityPolicy:SecurityPolicy",
  certificate: "gcp:compute/managedSslCertificate:ManagedSslCertificate",
  sslPolicy: "gcp:compute/sSLPolicy:SSLPolicy",
  httpsProxy: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
  httpProxy: "gcp:compute/targetHttpProxy:TargetHttpProxy",
  forwardingRule: "gcp:compute/globalForwardingRule:GlobalForwardingRule",
  healthCheck: "gcp:compute/healthCheck:HealthCheck",
  firewall: "gcp:compute/firewall:Firewall",
  serverlessNeg: "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
  k8sService: "kubernetes:core/v1:Service",
  cloudRunService: "gcp:cloudrunv2/service:Service",
  gkeCluster: "items-api:gcp:GkeCluster",
  cloudRun: "items-api:gcp:CloudRunService",
} as const;

/** The platform values the toggle covers, with the config overrides that select each. */
const PLATFORMS = {
  gke: { platform: "gke" },
  cloudrun: { platform: "cloudrun" },
  both: { platform: "both", "edge.weights.gke": "90", "edge.weights.cloudrun": "10" },
} as const;
type PlatformValue = keyof typeof PLATFORMS;
const EXPECTED_WEIGHTS: Record<PlatformValue, [string, number][]> = {
  gke: [["items-edge-gke", 100]],
  cloudrun: [["items-edge-cloudrun", 100]],
  both: [
    ["items-edge-gke", 90],
    ["items-edge-cloudrun", 10],
  ],
};

interface WeightedRoute {
  weightedBackendServices: { backendService: string; weight: number }[];
}
interface SecurityRule {
  priority: number;
  action: string;
  match: { expr?: { expression: string }; config?: { srcIpRanges: string[] } };
  rateLimitOptions?: {
    conformAction: string;
    exceedAction: string;
    enforceOnKey: string;
    rateLimitThreshold: { count: number; intervalSec: number };
  };
}

/** The URL map's weighted route: under the domain's path matcher, or the map's default without one. */
function routeOf(urlMap: PlannedResource): WeightedRoute {
  const matchers = urlMap.inputs.pathMatchers as { defaultRouteAction: WeightedRoute }[] | undefined;
  return matchers?.[0].defaultRouteAction ?? (urlMap.inputs.defaultRouteAction as WeightedRoute);
}

/** What must not move when the platform does: resource by URN with its inputs, parent and dependencies. */
function frontDoor(doc: PlanDocument) {
  const plan = new Inventory(doc.resources);
  const pick = (resource: PlannedResource) => ({
    urn: resource.urn,
    inputs: resource.inputs,
    parent: resource.parent,
    dependsOn: resource.dependsOn,
  });
  const fixed = [
    ...plan.all(T.globalAddress).filter((resource) => resource.name === "items-edge-ip"),
    ...plan.all(E.certificate),
    ...plan.all(E.sslPolicy),
    ...plan.all(E.httpsProxy),
    ...plan.all(E.httpProxy),
    ...plan.all(E.forwardingRule),
    ...plan.all(E.securityPolicy),
    ...plan.all(E.urlMap).filter((resource) => resource.name !== "items-edge"),
  ];
  const urlMap = plan.find(E.urlMap, "items-edge");
  const { hostRules, defaultUrlRedirect } = urlMap.inputs;
  return {
    fixed: fixed.map(pick),
    urlMap: { urn: urlMap.urn, hostRules, defaultUrlRedirect },
    outputs: { url: doc.outputs.url, edgeIp: doc.outputs.edgeIp, edgeNote: doc.outputs.edgeNote },
  };
}

for (const stack of STACKS) {
  const cfg = stackConfig(stack);
  describe(`edge of the ${stack} stack`, () => {
    const docs = {} as Record<PlatformValue, PlanDocument>;

    before(async function () {
      this.timeout(300_000);
      for (const platform of Object.keys(PLATFORMS) as PlatformValue[]) {
        docs[platform] = await planOf(stack, PLATFORMS[platform]);
      }
    });

    it("keeps the IP, certificate, URL map hosts, proxies and security policy under gke, cloudrun and both", () => {
      const onGke = frontDoor(docs.gke);
      assert.ok(
        onGke.fixed.length >= (cfg.edge.domain === undefined ? 4 : 9),
        "the front door is incomplete",
      );
      assert.deepStrictEqual(frontDoor(docs.cloudrun), onGke, "gke and cloudrun differ at the front door");
      assert.deepStrictEqual(frontDoor(docs.both), onGke, "gke and both differ at the front door");
    });

    for (const platform of Object.keys(PLATFORMS) as PlatformValue[]) {
      it(`routes ${platform} by weight to the deployed platforms' backend services`, () => {
        const plan = new Inventory(docs[platform].resources);
        const backends = plan.all(E.backendService);
        const urlMap = plan.find(E.urlMap, "items-edge");
        const route = routeOf(urlMap).weightedBackendServices;
        // Mocked ids are `<logical name>-id`: map each route back to its backend service by name.
        const routed = route.map(({ backendService, weight }) => [
          backends.find((backend) => backendService === `${backend.name}-id`)?.name,
          weight,
        ]);
        assert.deepEqual(routed, EXPECTED_WEIGHTS[platform]);
        assert.deepEqual(
          backends.map((backend) => backend.name).sort(),
          EXPECTED_WEIGHTS[platform].map(([name]) => name).sort(),
        );
        plan.expectDependsOn(urlMap, backends);
        const types = new Set(plan.resources.map((resource) => resource.type));
        assert.equal(
          types.has(E.gkeCluster),
          platform !== "cloudrun",
          "GKE deployed exactly when it is weighted",
        );
        assert.equal(
          types.has(E.cloudRun),
          platform !== "gke",
          "Cloud Run deployed exactly when it is weighted",
        );
      });
    }

    it("puts the Cloud Armor policy on every backend service of the external managed load balancer", () => {
      const plan = new Inventory(docs.both.resources);
      const [policy] = plan.all(E.securityPolicy);
      for (const backend of plan.all(E.backendService)) {
        assert.equal(backend.inputs.loadBalancingScheme, "EXTERNAL_MANAGED", backend.name);
        assert.equal(backend.inputs.securityPolicy, `${policy.name}-id`, backend.name);
        plan.expectDependsOn(backend, [policy]);
        assert.deepEqual(backend.inputs.logConfig, { enable: true, sampleRate: cfg.edge.logSampleRate });
      }
    });

    it("refuses /metrics first, throttles each client IP with 429 at the configured rate, then allows", () => {
      const plan = new Inventory(docs.gke.resources);
      const rules = plan.all(E.securityPolicy)[0].inputs.rules as SecurityRule[];
      assert.deepEqual(
        rules.map((rule) => rule.priority),
        [...rules.map((rule) => rule.priority)].sort((a, b) => a - b),
        "rules are not listed by priority",
      );
      assert.equal(new Set(rules.map((rule) => rule.priority)).size, rules.length, "duplicate priorities");
      assert.deepEqual(rules[0], {
        ...rules[0],
        action: "deny(404)",
        match: { expr: { expression: INTERNAL_PATHS_EXPRESSION } },
      });
      const throttle = rules.filter((rule) => rule.action === "throttle");
      assert.equal(throttle.length, 1);
      assert.deepEqual(throttle[0].rateLimitOptions, {
        conformAction: "allow",
        exceedAction: "deny(429)",
        enforceOnKey: "IP",
        rateLimitThreshold: {
          count: cfg.edge.rateLimit.requests,
          intervalSec: cfg.edge.rateLimit.intervalSec,
        },
      });
      const waf = rules.filter((rule) => rule.match.expr?.expression.startsWith("evaluatePreconfiguredWaf("));
      assert.deepEqual(
        waf.map((rule) => [rule.match.expr?.expression, rule.action]),
        cfg.edge.wafRules.map((ruleSet) => [`evaluatePreconfiguredWaf('${ruleSet}')`, "deny(403)"]),
      );
      const last = rules[rules.length - 1];
      assert.deepEqual([last.priority, last.action], [DEFAULT_RULE_PRIORITY, "allow"]);
    });

    if (cfg.edge.domain === undefined) {
      it("serves plain HTTP on the IP without a domain, and says so", () => {
        const plan = new Inventory(docs.gke.resources);
        assert.deepEqual(plan.all(E.httpsProxy), []);
        assert.deepEqual(plan.all(E.certificate), []);
        const [rule] = plan.all(E.forwardingRule);
        assert.equal(plan.all(E.forwardingRule).length, 1);
        assert.equal(rule.inputs.portRange, "80");
        assert.match(String(docs.gke.outputs.url), /^http:\/\/\d+\.\d+\.\d+\.\d+$/);
        assert.match(String(docs.gke.outputs.edgeNote), /plain HTTP/);
      });
    } else {
      const domain = cfg.edge.domain;
      it(`serves HTTPS for ${domain} with a managed certificate and TLS policy; HTTP only redirects`, () => {
        const plan = new Inventory(docs.gke.resources);
        const certificate = plan.expectInputs(E.certificate, "items-edge-cert", {
          managed: { domains: [domain] },
        });
        const tls = plan.expectInputs(E.sslPolicy, "items-edge-tls", {
          profile: "MODERN",
          minTlsVersion: cfg.edge.minTlsVersion,
        });
        const urlMap = plan.expectInputs(E.urlMap, "items-edge", {
          hostRules: [{ hosts: [domain] }],
          defaultUrlRedirect: { hostRedirect: domain, httpsRedirect: true },
        });
        const httpsProxy = plan.find(E.httpsProxy, "items-edge-https");
        plan.expectDependsOn(httpsProxy, [certificate, tls, urlMap]);
        const redirect = plan.expectInputs(E.urlMap, "items-edge-https-redirect", {
          defaultUrlRedirect: { httpsRedirect: true, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" },
        });
        assert.equal(redirect.inputs.pathMatchers, undefined, "the HTTP listener routes to a backend");
        plan.expectDependsOn(plan.find(E.httpProxy, "items-edge-http"), [redirect]);
        const ports = plan.all(E.forwardingRule).map((rule) => [rule.name, rule.inputs.portRange]);
        assert.deepEqual(ports.sort(), [
          ["items-edge-http", "80"],
          ["items-edge-https", "443"],
        ]);
        assert.equal(docs.gke.outputs.url, `https://${domain}`);
        assert.match(
          String(docs.gke.outputs.edgeNote),
          new RegExp(`A record for ${domain.replace(/\./g, "\\.")}`),
        );
      });
    }

    it("reaches GKE through the Service's zonal NEGs, health-checked on /readyz behind Google's ranges", () => {
      const plan = new Inventory(docs.gke.resources);
      const service = plan.all(E.k8sService)[0];
      const annotation = JSON.parse(
        (service.inputs.metadata as { annotations: Record<string, string> }).annotations[
          "cloud.google.com/neg"
        ],
      ) as { exposed_ports: Record<string, { name: string }> };
      const [negName] = Object.values(annotation.exposed_ports).map((port) => port.name);
      const backend = plan.find(E.backendService, "items-edge-gke");
      const groups = backend.inputs.backends as {
        group: string;
        balancingMode: string;
        maxRatePerEndpoint: number;
      }[];
      const zones = groups.map(({ group }) =>
        /\/zones\/([^/]+)\/networkEndpointGroups\/(.+)$/.exec(group)?.slice(1),
      );
      assert.ok(zones.length >= 1);
      for (const zone of zones) {
        assert.ok(zone, `not a zonal NEG: ${JSON.stringify(groups)}`);
        assert.equal(zone[1], negName);
        assert.ok(zone[0].startsWith(cfg.gcp.region), `${zone[0]} is outside ${cfg.gcp.region}`);
      }
      assert.equal(zones.length, cfg.gke.regional ? 3 : 1, "one NEG per node zone");
      for (const group of groups) {
        assert.deepEqual([group.balancingMode, group.maxRatePerEndpoint], ["RATE", cfg.gke.targetRpsPerPod]);
      }
      plan.expectDependsOn(backend, [service]);
      const health = plan.expectInputs(E.healthCheck, "items-edge-gke-health", {
        httpHealthCheck: { portSpecification: "USE_SERVING_PORT", requestPath: "/readyz" },
      });
      plan.expectDependsOn(backend, [health]);
      const nodes = plan.find("gcp:serviceaccount/account:Account", "items-gke-nodes");
      const firewall = plan.expectInputs(E.firewall, "items-edge-gke-allow-lb", {
        direction: "INGRESS",
        sourceRanges: [...GOOGLE_LOAD_BALANCER_RANGES],
        allows: [{ protocol: "tcp", ports: ["8080"] }],
        // Only the cluster's nodes, not every VM of the network.
        targetServiceAccounts: [`items-gke-nodes@${cfg.gcp.project}.iam.gserviceaccount.com`],
      });
      plan.expectDependsOn(firewall, [nodes]);
    });

    it("reaches Cloud Run through a serverless NEG, and Cloud Run admits only the load balancer", () => {
      const plan = new Inventory(docs.cloudrun.resources);
      const run = plan.all(E.cloudRunService)[0];
      assert.equal(run.inputs.ingress, "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
      const neg = plan.expectInputs(E.serverlessNeg, "items-edge-cloudrun-neg", {
        networkEndpointType: "SERVERLESS",
        region: cfg.gcp.region,
      });
      // The service is auto-named (`<logical name>-<suffix>`); the NEG names it through its output.
      assert.match((neg.inputs.cloudRun as { service: string }).service, /^items-api-[0-9a-f]{7}$/);
      plan.expectDependsOn(neg, [run]);
      const backend = plan.expectInputs(E.backendService, "items-edge-cloudrun", {
        backends: [{ group: `${neg.name}-id` }],
      });
      assert.equal(backend.inputs.healthChecks, undefined, "serverless NEGs take no health check");
    });
  });
}
