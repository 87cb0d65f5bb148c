import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** One operator rule from the stack's `edge.rules`: match by source ranges or by a Cloud Armor expression. */
export interface EdgeRule {
  readonly action: "allow" | "deny";
  readonly srcIpRanges?: readonly string[];
  readonly expression?: string;
  readonly description?: string;
}

/** Plain settings of the policy; the stack's `edge` block supplies them (config.ts owns the defaults). */
export interface EdgeSecuritySettings {
  /** Requests one client IP may send per `rateLimit.intervalSec` before it gets 429 (required). */
  readonly rateLimit: { readonly requests: number; readonly intervalSec: number };
  /** Preconfigured WAF rule sets to deny on, e.g. "sqli-v33-stable" (required, may be empty). */
  readonly wafRules: readonly string[];
  /** Operator rules, evaluated in list order before the WAF and the rate limit (required, may be empty). */
  readonly rules: readonly EdgeRule[];
}

export interface EdgeSecurityPolicyArgs extends EdgeSecuritySettings {
  /** GCP project id (required). */
  readonly project: string;
  /** Enabled APIs the policy waits for (compute); default none. */
  readonly apis?: readonly pulumi.Resource[];
}

type SecurityPolicyRule = gcp.types.input.compute.SecurityPolicyRule;

/** Cloud Armor's lowest priority: the rule that applies when no other matches. */
export const DEFAULT_RULE_PRIORITY = 2147483647;
/** Priorities by stage; a stage's rules count up from its base in list order. */
const PRIORITY = { internalPaths: 100, operatorRules: 1000, waf: 5000, rateLimit: 9000 } as const;

/**
 * Paths of the API that must never be reachable from the internet: `/metrics` is for the in-cluster
 * scraper only. Decoded and lower-cased first so `/%6Detrics` or `//Metrics` cannot slip past.
 */
export const INTERNAL_PATHS_EXPRESSION = "request.path.lower().urlDecode().matches('^/+metrics')";

const everyone = { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } };

/** Cloud Armor's `deny(<status>)` action. */
const deny = (status: number) => `deny(${status})`;

/** Every rule of the policy, highest priority first. Pure, so tests read the exact rule list. */
export function edgeSecurityRules(settings: EdgeSecuritySettings): SecurityPolicyRule[] {
  const operatorRules = settings.rules.map((rule, index): SecurityPolicyRule => ({
    priority: PRIORITY.operatorRules + index,
    action: rule.action === "allow" ? "allow" : deny(403),
    description: rule.description ?? `edge.rules[${index}]`,
    match:
      rule.srcIpRanges === undefined
        ? { expr: { expression: rule.expression ?? "" } }
        : { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: [...rule.srcIpRanges] } },
  }));
  const wafRules = settings.wafRules.map((ruleSet, index): SecurityPolicyRule => ({
    priority: PRIORITY.waf + index,
    action: deny(403),
    description: `Preconfigured WAF ${ruleSet}`,
    match: { expr: { expression: `evaluatePreconfiguredWaf('${ruleSet}')` } },
  }));
  return [
    {
      priority: PRIORITY.internalPaths,
      action: deny(404),
      description: "Internal paths (/metrics) are not served from the edge",
      match: { expr: { expression: INTERNAL_PATHS_EXPRESSION } },
    },
    ...operatorRules,
    ...wafRules,
    {
      priority: PRIORITY.rateLimit,
      action: "throttle",
      description: `More than ${settings.rateLimit.requests} requests per ${settings.rateLimit.intervalSec} s from one IP get 429`,
      match: everyone,
      rateLimitOptions: {
        conformAction: "allow",
        exceedAction: deny(429),
        enforceOnKey: "IP",
        rateLimitThreshold: {
          count: settings.rateLimit.requests,
          intervalSec: settings.rateLimit.intervalSec,
        },
      },
    },
    { priority: DEFAULT_RULE_PRIORITY, action: "allow", description: "Default: allow", match: everyone },
  ];
}

/** The Cloud Armor policy every backend service of the edge carries, whatever the platform. */
export class EdgeSecurityPolicy extends pulumi.ComponentResource {
  /** Id, for `BackendService.securityPolicy`. */
  public readonly policyId: pulumi.Output<string>;

  constructor(name: string, args: EdgeSecurityPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:EdgeSecurityPolicy", name, {}, opts);
    const policy = new gcp.compute.SecurityPolicy(
      name,
      {
        project: args.project,
        type: "CLOUD_ARMOR",
        description: "Edge of the items API: internal paths, operator rules, WAF, per-IP rate limit",
        rules: edgeSecurityRules(args),
        // WAF rules inspect JSON bodies as JSON rather than as one opaque string.
        advancedOptionsConfig: { jsonParsing: "STANDARD", logLevel: "NORMAL" },
      },
      { parent: this, dependsOn: [...(args.apis ?? [])] },
    );
    this.policyId = policy.id;
    this.registerOutputs({ policyId: this.policyId });
  }
}
