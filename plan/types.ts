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
  notice: PlanNotice;
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
  notice: PlanNotice;
}

/** What an offline plan can and cannot tell; both documents carry it and both human forms print it. */
export interface PlanNotice {
  /** What the plan shows and compares: the inputs the program passes, never the provider's decisions. */
  compares: "inputs";
  /**
   * Whether the plan can tell an update in place from a replacement: never. Nor can it mark the inputs
   * that force a replacement: the installed provider packages (@pulumi/gcp, @pulumi/kubernetes,
   * @pulumi/random, @pulumi/docker) ship no such metadata (no schema, no replaceOnChanges).
   */
  showsReplacement: false;
  /** What decides: a real preview against the stack. */
  authority: "pulumi preview";
  text: string;
}

export const PLAN_NOTICE: PlanNotice = {
  compares: "inputs",
  showsReplacement: false,
  authority: "pulumi preview",
  text:
    "This offline plan runs the program under mocked providers and shows and compares the inputs it " +
    "passes to each resource. It cannot tell an update in place from a replacement, nor what a provider " +
    "computes: inputs taken from another resource's output carry the mocks' values, where a real preview " +
    "of a new resource shows them as unknown. The installed provider packages ship no metadata on which " +
    "inputs force a replacement, so none is marked. `pulumi preview` against the stack is the authority.",
};

/** How secret and unknown values appear in plans. */
export const SECRET_TEXT = "[secret]";
export const UNKNOWN_TEXT = "[unknown]";
