// Records what the program registers by wrapping the Pulumi mock monitor, which sees the full
// RegisterResourceRequest (parent, dependencies, protect, provider) that `Mocks.newResource` does not.
// It also does the engine's share of the work that the mock monitor leaves out: engine-style URNs,
// default providers, duplicate-URN rejection, `additionalSecretOutputs` and auto-naming.
import { createHash } from "node:crypto";
import * as fs from "node:fs";

import * as pulumi from "@pulumi/pulumi";
import type {
  RegisterResourceOutputsRequest,
  RegisterResourceRequest,
  RegisterResourceResponse,
} from "@pulumi/pulumi/proto/resource_pb";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

import { propertyPath } from "./diff";
import { SECRET_TEXT, UNKNOWN_TEXT, type PlanResource } from "./types";

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";
/** Pulumi's auto-names end in a dash and 7 hex digits (`items-net-router-1a2b3c4`). */
const AUTO_NAME_SUFFIX_LENGTH = 7;
const PROVIDER_TYPE_PREFIX = "pulumi:providers:";

type Callback<T> = (error: Error | null, response?: T) => void;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A serialized property value as a plan shows it: secrets and unknowns as text, resource references as URNs. */
export function planValue(value: unknown): unknown {
  if (value === pulumi.runtime.unknownValue) return UNKNOWN_TEXT;
  if (Array.isArray(value)) return value.map(planValue);
  if (!isObject(value)) return value;
  const { [pulumi.runtime.specialSigKey]: signature, ...fields } = value;
  if (signature === pulumi.runtime.specialSecretSig) return SECRET_TEXT;
  if (signature === pulumi.runtime.specialResourceSig) return fields.urn;
  return Object.fromEntries(Object.entries(fields).map(([key, inner]) => [key, planValue(inner)]));
}

function planObject(struct: Struct | undefined): Record<string, unknown> {
  const value = planValue(struct?.toJavaScript() ?? {});
  return isObject(value) ? value : {};
}

/** The engine's URN: the parent's full type chain (the root stack excluded), then this type. */
function engineUrn(stack: string, project: string, parentUrn: string, type: string, name: string): string {
  const parentType = parentUrn === "" ? "" : (parentUrn.split("::")[2] ?? "");
  const qualifiedType = parentType === "" || parentType === ROOT_STACK_TYPE ? type : `${parentType}$${type}`;
  return `urn:pulumi:${stack}::${project}::${qualifiedType}::${name}`;
}

/** The resources an Output's value comes from; `resources` is internal to @pulumi/pulumi but on every Output. */
const sourceResources = (output: pulumi.Output<unknown>) =>
  (output as unknown as { resources(): Set<pulumi.Resource> }).resources();

/**
 * Paths (as the diff prints them) of the inputs the program set from another resource's output,
 * found by walking the inputs as the program passed them, before serialization drops undefined values.
 */
function inputsFromOutputs(props: unknown, path = ""): string[] {
  if (pulumi.Output.isInstance(props)) return sourceResources(props).size > 0 ? [path] : [];
  if (pulumi.Resource.isInstance(props)) return [];
  if (Array.isArray(props))
    return props.flatMap((item, index) => inputsFromOutputs(item, propertyPath(path, index)));
  if (!isObject(props)) return [];
  return Object.entries(props).flatMap(([key, value]) => inputsFromOutputs(value, propertyPath(path, key)));
}

const nameInputs = new Map<string, boolean>();

/**
 * Whether a resource type takes a `name` input, which bridged providers auto-name when it is left out
 * (an output-only `name` is not auto-named). Read from the installed SDK's typings: the type
 * `gcp:compute/router:Router` is declared in @pulumi/gcp/compute/router.d.ts, its inputs in
 * `interface RouterArgs`. A type whose typings cannot be found is not auto-named.
 */
function hasNameInput(type: string): boolean {
  let known = nameInputs.get(type);
  if (known === undefined) {
    const [pkg, module, className] = type.split(":");
    const file = module?.replace(/^index\//, "");
    let typings = "";
    try {
      typings = fs.readFileSync(require.resolve(`@pulumi/${pkg}/${file}`).replace(/\.js$/, ".d.ts"), "utf8");
    } catch {
      // Not a package module (components, providers, Kubernetes' API groups): no `name` input.
    }
    const args = new RegExp(`^export interface ${className}Args \\{$([\\s\\S]*?)^\\}$`, "m").exec(typings);
    known = /^ {4}name\??: pulumi\.Input<string(?: \| undefined)?>;$/m.test(args?.[1] ?? "");
    nameInputs.set(type, known);
  }
  return known;
}

/** The engine marks these outputs secret whatever the provider returns; the mock monitor does not. */
function markSecretOutputs(response: RegisterResourceResponse, names: readonly string[]): void {
  const object = response.getObject();
  if (object === undefined || names.length === 0) return;
  const state = object.toJavaScript();
  for (const name of names) {
    const value = state[name];
    if (value !== undefined && !(isObject(value) && value[pulumi.runtime.specialSigKey] !== undefined)) {
      state[name] = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value };
    }
  }
  response.setObject(Struct.fromJavaScript(state));
}

export interface RecorderOptions {
  stack: string;
  project: string;
  /** Inputs of a package's default provider: the stack's config in that package's namespace. */
  providerInputs(pkg: string): Record<string, unknown>;
}

export interface Recorder {
  /** Registered resources in the order the monitor received them, default providers included. */
  readonly resources: PlanResource[];
  /** The root stack's outputs, once the stack has registered them. */
  readonly outputs: Record<string, unknown> | undefined;
  /** Problems the engine would have rejected the deployment for. */
  readonly errors: string[];
  /**
   * Notes a resource the program constructed (from a stack transformation, which sees its inputs as
   * passed): `pending` names it until it is registered, and its output-derived inputs are recorded.
   */
  noteConstructed(args: pulumi.ResourceTransformationArgs): void;
  /** `name [type]` of every constructed resource whose registration has not completed. */
  pending(): string[];
}

/** Installs the recorder on the mock monitor that `pulumi.runtime.setMocks` created. */
export function recordRegistrations(options: RecorderOptions): Recorder {
  const installed = pulumi.runtime.getMonitor();
  if (!(installed instanceof MockMonitor))
    throw new Error("recordRegistrations needs pulumi.runtime.setMocks first");
  const monitor: MockMonitor = installed;
  const urnOf = (parent: string, type: string, name: string) =>
    engineUrn(options.stack, options.project, parent, type, name);
  // newUrn is private in the typings; replacing it keeps the mock monitor's own bookkeeping on our URNs.
  (monitor as unknown as { newUrn: typeof urnOf }).newUrn = urnOf;

  const resources: PlanResource[] = [];
  const urns = new Set<string>();
  const errors: string[] = [];
  const outstanding = new Map<string, number>();
  const count = (label: string, delta: number) =>
    outstanding.set(label, (outstanding.get(label) ?? 0) + delta);
  let stackOutputs: Record<string, unknown> | undefined;
  /** Output-derived input paths by URN; the parent's URN, hence the child's, resolves before it registers. */
  const outputDerived = new Map<string, string[]>();
  const byUrn = new Map<string, PlanResource>();

  function noteConstructed({ type, name, props, opts }: pulumi.ResourceTransformationArgs): void {
    count(`${name} [${type}]`, 1);
    const paths = inputsFromOutputs(props).sort();
    const parent = opts.parent ?? pulumi.runtime.getStackResource();
    if (paths.length === 0 || parent === undefined) return;
    parent.urn.apply((parentUrn) => {
      const urn = urnOf(parentUrn, type, name);
      outputDerived.set(urn, paths);
      const registered = byUrn.get(urn);
      if (registered !== undefined) registered.inputsFromOutputs = paths;
    });
  }

  /**
   * The provider's auto-naming (what a real provider does in Check): a custom resource whose type has
   * a `name` input the program left out gets `<logical name>-<7 hex digits>`. The real suffix is random;
   * here it is a hash of the URN, so plans and their diffs stay stable. The plan still records the
   * inputs as the program passed them; the provider (the mocks) sees the name.
   */
  function autoName(request: RegisterResourceRequest, urn: string): void {
    const inputs = request.getObject()?.toJavaScript() ?? {};
    if (!request.getCustom() || !hasNameInput(request.getType()) || inputs.name !== undefined) return;
    const suffix = createHash("sha256").update(urn).digest("hex").slice(0, AUTO_NAME_SUFFIX_LENGTH);
    request.setObject(Struct.fromJavaScript({ ...inputs, name: `${request.getName()}-${suffix}` }));
  }

  function defaultProviderRef(type: string, version: string): string {
    const pkg = type.split(":")[0];
    const name = version === "" ? "default" : `default_${version.replace(/[.+-]/g, "_")}`;
    const urn = urnOf("", `${PROVIDER_TYPE_PREFIX}${pkg}`, name);
    const id = `${name}-id`;
    if (!urns.has(urn)) {
      urns.add(urn);
      const inputs = { ...options.providerInputs(pkg), ...(version === "" ? {} : { version }) };
      resources.push({
        urn,
        type: `${PROVIDER_TYPE_PREFIX}${pkg}`,
        name,
        parent: null,
        provider: null,
        dependsOn: [],
        protect: false,
        inputs,
        inputsFromOutputs: [],
      });
    }
    return `${urn}::${id}`;
  }

  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (
    request: RegisterResourceRequest,
    callback: Callback<RegisterResourceResponse>,
  ) => {
    const type = request.getType();
    const name = request.getName();
    const urn = urnOf(request.getParent(), type, name);
    if (urns.has(urn)) {
      errors.push(
        `duplicate URN ${urn}: two resources of type ${type} are named "${name}" under the same parent`,
      );
      count(`${name} [${type}]`, -1);
      callback(new Error(`duplicate URN ${urn}`));
      return;
    }
    urns.add(urn);
    const needsDefaultProvider =
      request.getCustom() && request.getProvider() === "" && !type.startsWith(PROVIDER_TYPE_PREFIX);
    resources.push({
      urn,
      type,
      name,
      parent: request.getParent() || null,
      provider: needsDefaultProvider
        ? defaultProviderRef(type, request.getVersion())
        : request.getProvider() || null,
      dependsOn: [...new Set(request.getDependenciesList())].sort(),
      protect: request.getProtect() === true,
      inputs: planObject(request.getObject()),
      inputsFromOutputs: outputDerived.get(urn) ?? [],
    });
    byUrn.set(urn, resources[resources.length - 1]);
    autoName(request, urn);
    await registerResource(request, (error: Error | null, response?: RegisterResourceResponse) => {
      count(`${name} [${type}]`, -1);
      if (error === null && response !== undefined) {
        markSecretOutputs(response, request.getAdditionalsecretoutputsList());
      }
      callback(error, response);
    });
  };

  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (
    request: RegisterResourceOutputsRequest,
    callback: Callback<unknown>,
  ) => {
    if (request.getUrn().split("::")[2] === ROOT_STACK_TYPE) stackOutputs = planObject(request.getOutputs());
    registerResourceOutputs(request, callback);
  };

  return {
    resources,
    errors,
    get outputs() {
      return stackOutputs;
    },
    noteConstructed,
    pending: () => [...outstanding].filter(([, n]) => n > 0).map(([label]) => label),
  };
}
