import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export interface StoredSecretArgs {
  /** The secret value (required); stored as a Pulumi secret, never in plain state or outputs. */
  readonly value: pulumi.Input<string>;
  /** Secret Manager secret id, unique in the project; default the component's name. */
  readonly secretId?: string;
  /** Extra labels on the secret; default none (the provider's default labels still apply). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ResolvedStoredSecretArgs {
  readonly secretId: string;
  readonly labels: Readonly<Record<string, string>>;
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

export function resolveStoredSecretArgs(
  name: string,
  args: Omit<StoredSecretArgs, "value">,
): ResolvedStoredSecretArgs {
  const secretId = args.secretId ?? name;
  if (!SECRET_ID.test(secretId)) {
    throw new Error(`\`secretId\` must be 1-255 letters, digits, '_' or '-', got "${secretId}"`);
  }
  return { secretId, labels: args.labels ?? {} };
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
    super("gcp-async-api:gcp:StoredSecret", name, {}, opts);
    const resolved = resolveStoredSecretArgs(name, args);

    const secret = new gcp.secretmanager.Secret(
      name,
      { secretId: resolved.secretId, replication: { auto: {} }, labels: { ...resolved.labels } },
      { parent: this },
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
