import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export interface StoredSecretArgs {
  /** The secret value; stored as a Pulumi secret, never in plain state or outputs. */
  readonly value: pulumi.Input<string>;
  /** Labels on the secret besides the provider's default labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Pulumi `protect` on the secret, so a destroy or a replacement cannot delete it. */
  readonly protect: boolean;
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** The Secret Manager id: the component's name, which must be one Secret Manager accepts. */
export function secretIdOf(name: string): string {
  if (!SECRET_ID.test(name)) {
    throw new Error(`StoredSecret "${name}": a secret id must be 1-255 letters, digits, '_' or '-'`);
  }
  return name;
}

/** One Secret Manager secret (automatic replication) holding one version with the given value. */
export class StoredSecret extends pulumi.ComponentResource {
  /** The secret's short id, e.g. "items-db-url". */
  public readonly secretId: pulumi.Output<string>;
  /** The secret's full resource name, `projects/<project number>/secrets/<id>`. */
  public readonly secretName: pulumi.Output<string>;
  /** The version number holding `value`, e.g. "1"; pin workloads to it so a new value rolls them. */
  public readonly version: pulumi.Output<string>;
  /** The value itself, as a Pulumi secret. */
  public readonly value: pulumi.Output<string>;

  constructor(name: string, args: StoredSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:gcp:StoredSecret", name, {}, opts);

    const secret = new gcp.secretmanager.Secret(
      name,
      { secretId: secretIdOf(name), replication: { auto: {} }, labels: { ...args.labels } },
      { parent: this, protect: args.protect },
    );
    const value = pulumi.secret(args.value);
    const version = new gcp.secretmanager.SecretVersion(
      `${name}-version`,
      { secret: secret.id, secretData: value },
      { parent: this },
    );

    this.secretId = secret.secretId;
    this.secretName = secret.name;
    this.version = version.version;
    this.value = value;
    this.registerOutputs({
      secretId: this.secretId,
      secretName: this.secretName,
      version: this.version,
      value: this.value,
    });
  }
}

/** What a workload needs to read a stored secret; the GKE and Cloud Run components take these. */
export type SecretRef = Pick<StoredSecret, "secretId" | "secretName" | "version" | "value">;
