import assert from "node:assert/strict";

import type { PlanDocument, PlanResource } from "../../plan/types";
import { FIXTURE_ROOT, PLAN_TEST_TIMEOUT_MS, planOf } from "./helpers";

const RESOURCE_FIELDS = [
  "dependsOn",
  "inputs",
  "inputsFromOutputs",
  "name",
  "parent",
  "protect",
  "provider",
  "type",
  "urn",
];
const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";
/** Provider-backed types have a module path (`gcp:sql/user:User`); component types do not. */

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Every field plan/plan.schema.json lists, and every reference resolvable inside the document. */
function assertPlanFormat(plan: PlanDocument, project: string, stack: string): void {
  // A custom resource belongs to a package with a provider in the plan; components and providers do not.
  const providerPackages = new Set(
    plan.resources
      .filter((r) => r.type.startsWith("pulumi:providers:"))
      .map((r) => r.type.slice("pulumi:providers:".length)),
  );
  const isProviderBacked = (type: string) =>
    !type.startsWith("pulumi:") && providerPackages.has(type.split(":")[0] ?? "");
  assert.deepEqual(Object.keys(plan).sort(), [
    "config",
    "notice",
    "outputs",
    "project",
    "resources",
    "stack",
  ]);
  assert.equal(plan.project, project);
  assert.equal(plan.stack, stack);
  assert.ok(isRecord(plan.config) && isRecord(plan.outputs));

  const byUrn = new Map<string, PlanResource>(plan.resources.map((r) => [r.urn, r]));
  assert.equal(byUrn.size, plan.resources.length, "URNs are unique");
  const roots = plan.resources.filter((r) => r.type === ROOT_STACK_TYPE);
  assert.equal(roots.length, 1, "one root stack resource");

  /** The engine's qualified type: the parent's chain (without the root stack) joined by $. */
  const qualifiedType = (r: PlanResource): string => {
    const parent = r.parent === null ? undefined : byUrn.get(r.parent);
    return parent === undefined || parent.type === ROOT_STACK_TYPE
      ? r.type
      : `${qualifiedType(parent)}$${r.type}`;
  };

  for (const r of plan.resources) {
    assert.deepEqual(Object.keys(r).sort(), RESOURCE_FIELDS, r.urn);
    assert.ok(
      typeof r.type === "string" && typeof r.name === "string" && typeof r.protect === "boolean",
      r.urn,
    );
    assert.ok(isRecord(r.inputs), r.urn);
    assert.equal(r.urn, `urn:pulumi:${stack}::${project}::${qualifiedType(r)}::${r.name}`);
    if (r.parent !== null) assert.ok(byUrn.has(r.parent), `parent of ${r.urn} is in the plan`);
    else
      assert.ok(
        r.type === ROOT_STACK_TYPE || r.type.startsWith("pulumi:providers:"),
        `${r.urn} has a parent`,
      );
    assert.ok(Array.isArray(r.dependsOn), r.urn);
    for (const dependency of r.dependsOn)
      assert.ok(byUrn.has(dependency), `dependency ${dependency} of ${r.urn}`);

    if (isProviderBacked(r.type)) {
      assert.ok(r.provider !== null, `${r.urn} has a provider`);
      const separator = r.provider.lastIndexOf("::");
      const provider = byUrn.get(r.provider.slice(0, separator));
      assert.ok(
        provider?.type.startsWith("pulumi:providers:"),
        `provider of ${r.urn} is a provider resource`,
      );
      assert.notEqual(r.provider.slice(separator + 2), "", "the provider reference carries an id");
    } else {
      assert.equal(r.provider, null, r.urn);
    }
  }
}

function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  return isRecord(value) ? Object.values(value).flatMap(allStrings) : [];
}

const inputsOf = (plan: PlanDocument, type: string) =>
  plan.resources.filter((r) => r.type === type).map((r) => r.inputs);

describe("plan document of the real program", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: has the documented shape, unique URNs and resolvable references`, async () => {
      assertPlanFormat(await planOf(stack), "items-api", stack);
    });

    it(`${stack}: shows secrets as [secret] and never a credential`, async () => {
      const plan = await planOf(stack);

      for (const inputs of inputsOf(plan, "gcp:sql/user:User")) assert.equal(inputs.password, "[secret]");
      const secretVersions = inputsOf(plan, "gcp:secretmanager/secretVersion:SecretVersion");
      assert.ok(secretVersions.length > 0);
      for (const inputs of secretVersions) assert.equal(inputs.secretData, "[secret]");
      // Connection URLs carry passwords and AUTH strings: none may appear in clear, in inputs or outputs.
      const withCredentials = allStrings(plan).filter((text) => /\w+:\/\/[^/\s@]*:[^/\s@]+@/.test(text));
      assert.deepEqual(withCredentials, []);
    });
  }

  it("prod (GKE): the Kubernetes provider's kubeconfig and the app's Secret are [secret]", async () => {
    const plan = await planOf("prod");

    const [provider] = inputsOf(plan, "pulumi:providers:kubernetes");
    assert.equal(provider?.kubeconfig, "[secret]");
    for (const inputs of inputsOf(plan, "kubernetes:core/v1:Secret")) {
      assert.ok(inputs.stringData === "[secret]" || inputs.data === "[secret]");
    }
  });

  it("dev: carries the stack's config with project keys unqualified", async () => {
    const plan = await planOf("dev");

    assert.equal(plan.config.platform, "cloudrun");
    assert.equal(plan.config["gcp:region"], "europe-west1");
    assert.equal((plan.config.database as Record<string, unknown>).tier, "db-custom-1-3840");
  });
});

describe("plan document of the fixture program", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);
  const fixturePlan = (overrides: Record<string, string> = {}) => planOf("ok", overrides, FIXTURE_ROOT);

  it("has the documented shape", async () => {
    assertPlanFormat(await fixturePlan(), "plan-fixture", "ok");
  });

  it("shows a secret stack output and an undecryptable secure config value as [secret]", async () => {
    const plan = await fixturePlan();

    assert.equal(plan.outputs.databasePassword, "[secret]");
    // The instance has no name input: the provider auto-names it `<logical name>-<7 hex digits>`.
    assert.match(
      String(plan.outputs.connectionName),
      /^fixture-project:europe-west1:db-primary-[0-9a-f]{7}$/,
    );
    assert.equal(plan.config.adminNote, "[secret]");
  });

  it("records parents, explicit dependencies, protect and default providers", async () => {
    const plan = await fixturePlan({ mode: "protected" });
    const byName = new Map(plan.resources.map((r) => [r.name, r]));

    const primary = byName.get("db-primary");
    assert.equal(primary?.parent, byName.get("db")?.urn);
    assert.ok(primary?.dependsOn.includes(byName.get("network")?.urn ?? "missing"));
    assert.equal(primary?.protect, true);
    const settings = primary?.inputs.settings as { ipConfiguration: { privateNetwork: string } };
    assert.deepEqual(settings, {
      tier: "db-f1-micro",
      ipConfiguration: { ipv4Enabled: false, privateNetwork: settings.ipConfiguration.privateNetwork },
    });
    assert.match(
      settings.ipConfiguration.privateNetwork,
      /^projects\/fixture-project\/global\/networks\/network-[0-9a-f]{7}$/,
    );
    assert.deepEqual(primary?.inputsFromOutputs, ["settings.ipConfiguration.privateNetwork"]);
    const gcpProvider = plan.resources.find((r) => r.type === "pulumi:providers:gcp");
    assert.equal(primary?.provider, `${gcpProvider?.urn}::${gcpProvider?.name}-id`);
    assert.deepEqual(gcpProvider?.inputs, {
      project: "fixture-project",
      region: "europe-west1",
      version: gcpProvider?.inputs.version,
    });
  });
});
