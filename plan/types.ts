// The offline plan's documents; plan/plan.schema.json is their JSON Schema.

/** One resource the program registers (or a default provider the engine would create for it). */
export interface PlanResource {
  /** `urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>`. */
  urn: string;
  type: string;
  name: string;
  /** URN of the parent resource; null only for the root stack and default providers. */
  parent: string | null;
  /** `<provider URN>::<provider id>` for custom resources, null for components and providers. */
  provider: string | null;
  /** URNs of every resource this one directly depends on (`dependsOn` and resources whose outputs it takes), sorted. */
  dependsOn: string[];
  protect: boolean;
  /** As the program passed them; secrets as "[secret]", unknowns as "[unknown]". */
  inputs: Record<string, unknown>;
  /**
   * Paths (as in a diff: `settings.ipConfiguration.privateNetwork`) of the inputs the program set from
   * another resource's output, sorted. A real preview of a new stack shows these as unknown.
   */
  inputsFromOutputs: string[];
}

export interface PlanDocument {
  project: string;
  stack: string;
  /** Config the program ran with: project keys without their namespace, secrets as "[secret]". */
  config: Record<string, unknown>;
  /** In registration order; a default provider comes just before its first user. */
  resources: PlanResource[];
  /** The stack's exports, same conventions as inputs. */
  outputs: Record<string, unknown>;
}

/** One changed value; `before`/`after` is absent (undefined) where the property did not exist. */
export interface PropertyChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface ResourceChange {
  urn: string;
  diff: PropertyChange[];
}

export interface PlanDiff {
  added: PlanResource[];
  removed: PlanResource[];
  changed: ResourceChange[];
}

/** How secret and unknown values appear in plans. */
export const SECRET_TEXT = "[secret]";
export const UNKNOWN_TEXT = "[unknown]";
