// The edge's policies against the real program: the offline plans pass them, and each broken variant
// (a backend service without Cloud Armor, prod without a domain, an HTTP listener that serves instead
// of redirecting) is reported. Args are built the way the engine passes them, reduced to the fields
// these policies read.
import { strict as assert } from "node:assert";

import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
} from "@pulumi/policy";

import type { RunPlanOptions } from "../../plan/run";
import type { PlanDocument, PlanResource } from "../../plan/types";
import { EDGE_TYPES, policies, prodEdgeHttpsOnly, prodEdgeSecurityPolicy } from "../../policy/policies";
import { cachedPlans } from "../support/plans";

const SCENARIOS = {
  prod: { stack: "prod" },
  "prod on both": {
    stack: "prod",
    overrides: { platform: "both", "edge.weights.gke": "50", "edge.weights.cloudrun": "50" },
  },
  dev: { stack: "dev" },
} as const satisfies Record<string, RunPlanOptions>;

const planOf = cachedPlans(SCENARIOS);

const unused = () => {
  throw new Error("not used by the edge policies");
};

async function resourceViolations(
  policy: ResourceValidationPolicy,
  resource: PlanResource,
): Promise<string[]> {
  const messages: string[] = [];
  const args = {
    type: resource.type,
    props: resource.inputs,
    urn: resource.urn,
    name: resource.name,
    getConfig: unused,
    notApplicable: unused,
  } as unknown as ResourceValidationArgs;
  for (const validate of [policy.validateResource ?? []].flat())
    await validate(args, (m) => messages.push(m));
  return messages;
}

async function stackViolations(resources: readonly PlanResource[]): Promise<string[]> {
  const byUrn = new Map<string, PolicyResource>();
  const policyResources = resources.map((resource) => {
    const policyResource = {
      type: resource.type,
      props: resource.inputs,
      urn: resource.urn,
      name: resource.name,
      dependencies: [] as PolicyResource[],
      propertyDependencies: {},
    } as unknown as PolicyResource;
    byUrn.set(resource.urn, policyResource);
    return policyResource;
  });
  resources.forEach((resource, index) => {
    policyResources[index].dependencies = resource.dependsOn
      .map((urn) => byUrn.get(urn))
      .filter((dependency): dependency is PolicyResource => dependency !== undefined);
  });
  const messages: string[] = [];
  const args = {
    resources: policyResources,
    getConfig: unused,
    notApplicable: unused,
  } as unknown as StackValidationArgs;
  await prodEdgeHttpsOnly.validateStack(args, (message) => messages.push(message));
  return messages;
}

const copy = <T>(value: T): T => structuredClone(value);
const backendServices = (plan: PlanDocument) =>
  plan.resources.filter((resource) => resource.type === EDGE_TYPES.backendService);

describe("edge policies", function () {
  this.timeout(300_000);

  it("are in the pack", () => {
    for (const policy of [prodEdgeSecurityPolicy, prodEdgeHttpsOnly])
      assert.ok(policies.includes(policy), policy.name);
  });

  for (const scenario of ["prod", "prod on both"] as const) {
    it(`${scenario}: passes (HTTPS with a certificate, HTTP redirects, Cloud Armor on every backend)`, async () => {
      const plan = await planOf(scenario);
      assert.ok(backendServices(plan).length >= 1);
      for (const backend of backendServices(plan)) {
        assert.deepEqual(await resourceViolations(prodEdgeSecurityPolicy, backend), [], backend.name);
      }
      assert.deepEqual(await stackViolations(plan.resources), []);
    });
  }

  it("reports a prod backend service without a security policy", async () => {
    const [backend] = backendServices(await planOf("prod on both"));
    const broken = copy(backend);
    delete broken.inputs.securityPolicy;
    const [message, ...rest] = await resourceViolations(prodEdgeSecurityPolicy, broken);
    assert.match(message, /securityPolicy unset/);
    assert.deepEqual(rest, []);
  });

  it("reports prod without a domain: no HTTPS, and HTTP serving the API", async () => {
    // The dev plan has no domain; judged as if it were prod.
    const asProd = copy((await planOf("dev")).resources).map((resource) => ({
      ...resource,
      urn: resource.urn.replace("urn:pulumi:dev::", "urn:pulumi:prod::"),
      dependsOn: resource.dependsOn.map((urn) => urn.replace("urn:pulumi:dev::", "urn:pulumi:prod::")),
    }));
    const messages = await stackViolations(asProd);
    assert.equal(messages.length, 2, messages.join("\n"));
    assert.match(messages[0], /No HTTPS proxy with a certificate: set the stack's edge.domain/);
    assert.match(messages[1], /serves requests over plain HTTP/);
  });

  it("reports a prod HTTP listener whose URL map routes to a backend", async () => {
    const resources = copy((await planOf("prod")).resources);
    const redirect = resources.find((resource) => resource.name === "items-edge-https-redirect");
    assert.ok(redirect);
    redirect.inputs.defaultRouteAction = { weightedBackendServices: [{ backendService: "x", weight: 100 }] };
    const messages = await stackViolations(resources);
    assert.equal(messages.length, 1, messages.join("\n"));
    assert.match(messages[0], /HTTP proxy "items-edge-http" serves requests over plain HTTP/);
  });

  it("leaves dev free to serve plain HTTP", async () => {
    const plan = await planOf("dev");
    assert.deepEqual(await stackViolations(plan.resources), []);
  });
});
