// The one reader of the stack files: Pulumi.yaml defaults + Pulumi.<stack>.yaml, every value a
// string as the Pulumi CLI hands them to the program (the plan tool's loader), validated with the
// program's own parser. Tests, the bench, the capacity plan and the policy config all read stacks
// through here, so they see exactly the settings a deployment would use.
import * as path from "node:path";

import { parseStackConfig, SET_PROJECT_COMMAND, type StackConfig } from "../config";
import { readStackFiles, runtimeConfig, type StackFiles } from "../plan/stack-files";

export const STACKS = ["dev", "prod"] as const;
export type StackName = (typeof STACKS)[number];

export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * The project offline tools (plan, capacity, policy config, tests) use when a stack file names none:
 * the stack files name no project, so a first `pulumi up` stops until the user sets their own.
 * Never deployable: the bootstrap refuses it.
 */
export const PLACEHOLDER_PROJECT = "offline-plan-project";

/** What the offline plan prints when it used the placeholder. */
export const placeholderProjectNote = (stack: string) =>
  `gcp:project is not set in Pulumi.${stack}.yaml: this offline plan uses the placeholder project ` +
  `"${PLACEHOLDER_PROJECT}"; before \`pulumi up\`, run \`${SET_PROJECT_COMMAND} --stack ${stack}\``;

/** The stack files with the placeholder project when they name none; `placeholder` says whether it was. */
export function offlineStackFiles(
  root: string,
  stack: string,
  overrides: Readonly<Record<string, string>>,
): { readonly files: StackFiles; readonly placeholder: boolean } {
  const files = readStackFiles(root, stack, overrides);
  const project = files.values["gcp:project"];
  if (project !== undefined && project !== null) return { files, placeholder: false };
  return {
    files: { ...files, values: { ...files.values, "gcp:project": PLACEHOLDER_PROJECT } },
    placeholder: true,
  };
}

/** The stack's config as the program receives it offline: `<project>:<key>` → string. */
export function rawStackConfig(stack: string, root = REPO_ROOT): Record<string, string> {
  return runtimeConfig(offlineStackFiles(root, stack, {}).files);
}

/** The stack's validated config; a rule violation names the stack file it came from. */
export function stackConfig(stack: string, root = REPO_ROOT): StackConfig {
  try {
    return parseStackConfig(rawStackConfig(stack, root));
  } catch (error) {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
