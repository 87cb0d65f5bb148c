// Test fixture for the offline plan: a component with children, an explicit dependency, a secret
// and a stack output, plus failure modes chosen by `plan-fixture:mode`.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

class StackConfigError extends Error {
  override readonly name = "StackConfigError";
  constructor(
    readonly key: string,
    readonly rule: string,
  ) {
    super(`${key}: ${rule}`);
  }
}

const config = new pulumi.Config();
const mode = config.get("mode") ?? "ok";
const tier = config.require("tier");
if (!tier.startsWith("db-")) throw new StackConfigError("plan-fixture:tier", 'must start with "db-"');
const replicas = config.requireNumber("replicas");

class Database extends pulumi.ComponentResource {
  readonly connectionName: pulumi.Output<string>;
  readonly password: pulumi.Output<string>;

  constructor(name: string, network: gcp.compute.Network, opts?: pulumi.ComponentResourceOptions) {
    super("plan-fixture:index:Database", name, {}, opts);
    const settings = { tier, ipConfiguration: { ipv4Enabled: false, privateNetwork: network.id } };
    const primary = new gcp.sql.DatabaseInstance(
      `${name}-primary`,
      { databaseVersion: "POSTGRES_16", settings, deletionProtection: false },
      { parent: this, dependsOn: [network], protect: mode === "protected" },
    );
    for (let i = 1; i <= replicas; i++) {
      new gcp.sql.DatabaseInstance(
        `${name}-replica-${i}`,
        {
          databaseVersion: "POSTGRES_16",
          masterInstanceName: primary.name,
          settings,
          deletionProtection: false,
        },
        { parent: this },
      );
    }
    const password = new random.RandomPassword(
      `${name}-password`,
      { length: 32, special: false },
      { parent: this },
    );
    new gcp.sql.User(`${name}-user`, { instance: primary.name, password: password.result }, { parent: this });
    this.connectionName = primary.connectionName;
    this.password = password.result;
    this.registerOutputs({ connectionName: this.connectionName });
  }
}

const network = new gcp.compute.Network("network", { autoCreateSubnetworks: false });
const database = new Database("db", network);

const failureModes: Record<string, () => void> = {
  throw: () => {
    throw new Error("fixture program failed on purpose");
  },
  "unanswered-invoke": () => void gcp.compute.getNetworkOutput({ name: "elsewhere" }),
  "duplicate-urn": () => new gcp.compute.Network("network", {}),
  "unhandled-rejection": () => void Promise.reject(new Error("fixture rejection nobody awaits")),
  "never-settles": () => new gcp.compute.Network("stuck", { name: new Promise<string>(() => undefined) }),
  hangs: () => {
    setInterval(() => undefined, 1000);
    new gcp.compute.Network("stuck", { name: new Promise<string>(() => undefined) });
  },
};
failureModes[mode]?.();

export const connectionName = database.connectionName;
export const databasePassword = database.password;
export const networkId = network.id;
