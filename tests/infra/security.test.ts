import * as assert from "node:assert/strict";

import { createMocks } from "../../plan/mocks";
import type { PlanDocument } from "../../plan/types";
import { Inventory, planOf, SECRET, T } from "./inventory";
import { stackConfig, STACKS } from "../../lib/stack-files";

/** Every string leaf of a value with its path, e.g. ["settings.ipConfiguration.sslMode", "ENCRYPTED_ONLY"]. */
function stringLeaves(value: unknown, at = ""): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringLeaves(item, `${at}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, inner]) => stringLeaves(inner, at ? `${at}.${key}` : key));
  }
  return [];
}

/** Every value stored under `key` anywhere in a value, with its path. */
function valuesOfKey(value: unknown, key: string, at = ""): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((item, index) => valuesOfKey(item, key, `${at}[${index}]`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([name, inner]) => {
    const path = at ? `${at}.${name}` : name;
    return [...(name === key ? [[path, inner] as [string, unknown]] : []), ...valuesOfKey(inner, key, path)];
  });
}

/** Connection strings that carry credentials: `scheme://user:password@host`. */
const CREDENTIAL_URL = /\b(postgres(ql)?|rediss?):\/\/[^/\s]*@/;

/**
 * The credentials the plan's mocks handed the program: the generated database password and the
 * Memorystore AUTH string. Asked from the same mocks with the same inputs, so they are exact.
 */
async function mockCredentials(doc: PlanDocument): Promise<string[]> {
  const plan = new Inventory(doc.resources);
  const project = String(doc.config["gcp:project"]);
  const region = String(doc.config["gcp:region"]);
  const { mocks } = createMocks({ project, region });
  const outputsOf = async (type: string, name: string) => {
    const resource = plan.find(type, name);
    const result = await mocks.newResource({ type, name, inputs: resource.inputs, custom: true });
    return result.state as Record<string, unknown>;
  };
  const password = (await outputsOf(T.password, "items-db-password")).result;
  const authString = (await outputsOf(T.redisInstance, "items-cache-redis")).authString;
  assert.ok(
    typeof password === "string" && password.length === 32,
    "the mocks gave no 32-character password",
  );
  assert.ok(typeof authString === "string" && authString.length > 0, "the mocks gave no AUTH string");
  return [password, authString];
}

for (const stack of STACKS) {
  const cfg = stackConfig(stack);
  for (const platform of ["gke", "cloudrun"] as const) {
    describe(`security of the ${stack} stack on ${platform}`, () => {
      let doc: PlanDocument;
      let plan: Inventory;

      before(async () => {
        doc = await planOf(stack, { platform });
        plan = new Inventory(doc.resources);
      });

      it("gives no Cloud SQL instance a public IP and accepts only encrypted connections", () => {
        const instances = plan.all(T.sqlInstance);
        assert.equal(instances.length, 1 + Object.keys(cfg.database.replicas).length);
        for (const instance of instances) {
          plan.expectInputs(T.sqlInstance, instance.name, {
            settings: { ipConfiguration: { ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" } },
          });
          const ipConfiguration = (instance.inputs.settings as { ipConfiguration: Record<string, unknown> })
            .ipConfiguration;
          assert.equal(
            ipConfiguration.authorizedNetworks,
            undefined,
            `${instance.name} has authorized networks`,
          );
          assert.ok(ipConfiguration.privateNetwork, `${instance.name} has no private network`);
        }
      });

      it("runs Redis with AUTH, TLS and Private Service Access only", () => {
        for (const redis of plan.all(T.redisInstance)) {
          plan.expectInputs(T.redisInstance, redis.name, {
            authEnabled: true,
            transitEncryptionMode: "SERVER_AUTHENTICATION",
            connectMode: "PRIVATE_SERVICE_ACCESS",
          });
        }
        assert.equal(plan.all(T.redisInstance).length, 1);
      });

      it("keeps credentials out of plain stack outputs", async () => {
        const credentials = await mockCredentials(doc);
        const leaks = stringLeaves(doc.outputs).filter(
          ([, value]) => CREDENTIAL_URL.test(value) || credentials.some((secret) => value.includes(secret)),
        );
        assert.deepEqual(leaks, [], "these stack outputs expose a credential");
        assert.ok(Object.keys(doc.outputs).length > 0, "the plan has no outputs to check");
      });

      it("keeps the password, the AUTH string and the URLs out of every plain resource input", async () => {
        const credentials = await mockCredentials(doc);
        const leaks = plan.resources.flatMap((resource) =>
          stringLeaves(resource.inputs)
            .filter(
              ([, value]) =>
                CREDENTIAL_URL.test(value) || credentials.some((secret) => value.includes(secret)),
            )
            .map(([path]) => `${resource.urn} ${path}`),
        );
        assert.deepEqual(leaks, [], "these inputs hold a credential in plain text");
        // The values do reach the resources that need them, as secrets.
        plan.expectInputs(T.sqlUser, "items-db-user", { password: SECRET });
        for (const secretId of [
          "items-db-url",
          "items-db-replica-urls",
          "items-db-ca-cert",
          "items-cache-url",
          "items-cache-ca-cert",
        ]) {
          plan.expectInputs(T.secretVersion, `${secretId}-version`, { secretData: SECRET });
        }
      });

      it(`sets every deletion protection to ${cfg.deletionProtection} (${stack})`, () => {
        const settings = plan.resources.flatMap((resource) =>
          ["deletionProtection", "deletionProtectionEnabled"].flatMap((key) =>
            valuesOfKey(resource.inputs, key).map(([path, value]) => ({
              at: `${resource.urn} ${path}`,
              value,
            })),
          ),
        );
        const protectedTypes = new Set(
          plan.resources
            .filter((resource) => valuesOfKey(resource.inputs, "deletionProtection").length > 0)
            .map((resource) => resource.type),
        );
        for (const type of [T.sqlInstance, T.redisInstance])
          assert.ok(protectedTypes.has(type), `${type} sets no protection`);
        assert.deepEqual(
          settings.filter(({ value }) => value !== cfg.deletionProtection),
          [],
          `deletion protection must be ${cfg.deletionProtection} everywhere in ${stack}`,
        );
      });
    });
  }
}
