// The edge's config rules and pure parts, without Pulumi: the `edge` key and `platform: both`, the
// weights the URL map gets, the Cloud Armor rule list, the URL map's routes.
import * as assert from "node:assert/strict";

import { parseStackConfig, StackConfigError, trafficShares } from "../../config";
import { resolveEdgeBackends, urlMapRoutes } from "../../components/edge/edge";
import { DEFAULT_RULE_PRIORITY, edgeSecurityRules } from "../../components/edge/security-policy";
import { rawStackConfig } from "../../lib/stack-files";

/** The prod stack file with `platform` and some fields of `edge` replaced. */
function prodWith(platform: string, edge: Record<string, unknown>): Record<string, string> {
  const raw = rawStackConfig("prod");
  const current = JSON.parse(raw["items-api:edge"]) as object;
  return {
    ...raw,
    "items-api:platform": platform,
    "items-api:edge": JSON.stringify({ ...current, ...edge }),
  };
}

function expectRejected(raw: Record<string, string>, key: string, rule: RegExp): void {
  assert.throws(
    () => parseStackConfig(raw),
    (error: unknown) =>
      error instanceof StackConfigError && error.key === key && rule.test(error.rule)
        ? true
        : assert.fail(`expected ${key} matching ${String(rule)}, got ${String(error)}`),
  );
}

describe("edge config", () => {
  it("defaults to no domain, TLS 1.2, 6000 requests a minute per IP, no WAF or operator rules", () => {
    const raw = rawStackConfig("dev");
    const { "items-api:edge": _edge, ...withoutEdge } = raw;
    assert.deepEqual(parseStackConfig(withoutEdge).edge, {
      minTlsVersion: "TLS_1_2",
      rateLimit: { requests: 6000, intervalSec: 60 },
      wafRules: [],
      rules: [],
      logSampleRate: 1,
    });
  });

  it("accepts platform both with weights adding up to 100, and shares traffic by them", () => {
    const cfg = parseStackConfig(prodWith("both", { weights: { gke: 90, cloudrun: 10 } }));
    assert.deepEqual(trafficShares(cfg), [
      { platform: "gke", weight: 90 },
      { platform: "cloudrun", weight: 10 },
    ]);
    assert.deepEqual(trafficShares(parseStackConfig(prodWith("gke", {}))), [
      { platform: "gke", weight: 100 },
    ]);
    assert.deepEqual(trafficShares(parseStackConfig(prodWith("cloudrun", {}))), [
      { platform: "cloudrun", weight: 100 },
    ]);
  });

  const rejected: [string, Record<string, string>, string, RegExp][] = [
    ["both without weights", prodWith("both", {}), "edge.weights", /is required when platform is both/],
    [
      "weights that do not add up to 100",
      prodWith("both", { weights: { gke: 90, cloudrun: 20 } }),
      "edge.weights",
      /must add up to 100 \(gke 90 \+ cloudrun 20\)/,
    ],
    [
      "weights while one platform takes everything",
      prodWith("cloudrun", { weights: { gke: 0, cloudrun: 100 } }),
      "edge.weights",
      /must be unset when platform is cloudrun/,
    ],
    [
      "a negative weight",
      prodWith("both", { weights: { gke: -10, cloudrun: 110 } }),
      "edge.weights.gke",
      /from 0 to 100/,
    ],
    [
      "a domain with a scheme",
      prodWith("gke", { domain: "https://items.acme.example" }),
      "edge.domain",
      /DNS name/,
    ],
    [
      "an unknown TLS version",
      prodWith("gke", { minTlsVersion: "TLS_1_0" }),
      "edge.minTlsVersion",
      /TLS_1_2, TLS_1_3/,
    ],
    [
      "a rate-limit window Cloud Armor does not offer",
      prodWith("gke", { rateLimit: { requests: 100, intervalSec: 45 } }),
      "edge.rateLimit.intervalSec",
      /must be one of 10, 30, 60/,
    ],
    ["a zero rate limit", prodWith("gke", { rateLimit: { requests: 0 } }), "edge.rateLimit.requests", />= 1/],
    [
      "a WAF rule set that is not one",
      prodWith("gke", { wafRules: ["sql injection"] }),
      "edge.wafRules.0",
      /sqli-v33-stable/,
    ],
    [
      "a rule with both ranges and an expression",
      prodWith("gke", { rules: [{ action: "deny", srcIpRanges: ["192.0.2.0/24"], expression: "true" }] }),
      "edge.rules.0",
      /exactly one of srcIpRanges and expression/,
    ],
    [
      "a rule with a host-bits CIDR",
      prodWith("gke", { rules: [{ action: "deny", srcIpRanges: ["192.0.2.1/24"] }] }),
      "edge.rules.0.srcIpRanges.0",
      /canonical IPv4 CIDR/,
    ],
    [
      "a rule that redirects",
      prodWith("gke", { rules: [{ action: "redirect", expression: "true" }] }),
      "edge.rules.0.action",
      /allow, deny/,
    ],
    ["a sample rate above 1", prodWith("gke", { logSampleRate: 1.5 }), "edge.logSampleRate", /from 0 to 1/],
    ["a misspelt edge field", prodWith("gke", { domian: "x.example" }), "edge.domian", /not a known setting/],
  ];
  for (const [what, raw, key, rule] of rejected) {
    it(`rejects ${what} as items-api:${key}`, () => expectRejected(raw, `items-api:${key}`, rule));
  }

  it("checks both platforms' capacity under both, as either may be weighted to 100", () => {
    const raw = prodWith("both", { weights: { gke: 100, cloudrun: 0 } });
    const cloudrun = JSON.parse(raw["items-api:cloudrun"]) as Record<string, unknown>;
    expectRejected(
      { ...raw, "items-api:cloudrun": JSON.stringify({ ...cloudrun, maxInstances: 10 }) },
      "items-api:cloudrun.maxInstances",
      /covers targetConcurrentRequests/,
    );
  });
});

describe("edge: pure parts", () => {
  const settings = {
    rateLimit: { requests: 600, intervalSec: 60 },
    wafRules: ["sqli-v33-stable"],
    rules: [
      { action: "deny" as const, srcIpRanges: ["192.0.2.0/24"] },
      { action: "allow" as const, expression: "origin.region_code == 'CH'", description: "partners" },
    ],
  };

  it("orders the Cloud Armor rules: internal paths, operator rules in list order, WAF, rate limit, default", () => {
    const rules = edgeSecurityRules(settings);
    assert.deepEqual(
      rules.map((rule) => [rule.priority, rule.action]),
      [
        [100, "deny(404)"],
        [1000, "deny(403)"],
        [1001, "allow"],
        [5000, "deny(403)"],
        [9000, "throttle"],
        [DEFAULT_RULE_PRIORITY, "allow"],
      ],
    );
    assert.deepEqual(rules[1].match, {
      versionedExpr: "SRC_IPS_V1",
      config: { srcIpRanges: ["192.0.2.0/24"] },
    });
    assert.deepEqual(rules[2].match, { expr: { expression: "origin.region_code == 'CH'" } });
    assert.equal(rules[2].description, "partners");
  });

  it("routes by weighted backend services, behind the domain's host rule when there is one", () => {
    const backends = [
      { backendService: "gke", weight: 25 },
      { backendService: "run", weight: 75 },
    ];
    const weighted = { weightedBackendServices: backends };
    assert.deepEqual(urlMapRoutes(undefined, backends), { defaultRouteAction: weighted });
    assert.deepEqual(urlMapRoutes("items.acme.example", backends), {
      defaultUrlRedirect: { hostRedirect: "items.acme.example", httpsRedirect: true, stripQuery: false },
      hostRules: [{ hosts: ["items.acme.example"], pathMatcher: "api" }],
      pathMatchers: [{ name: "api", defaultRouteAction: weighted }],
    });
  });

  it("refuses weights that do not make 100 and an empty backend list", () => {
    assert.throws(() => resolveEdgeBackends([]), /at least one backend/);
    assert.throws(() => resolveEdgeBackends([{ backendService: "a", weight: 99 }]), /add up to 100, got 99/);
    assert.throws(
      () => resolveEdgeBackends([{ backendService: "a", weight: 100.5 }]),
      /integer from 0 to 100/,
    );
    assert.equal(resolveEdgeBackends([{ backendService: "a", weight: 100 }]).length, 1);
  });
});
