// The one reader of the stack files: Pulumi.yaml defaults + Pulumi.<stack>.yaml, every value a
// string as the Pulumi CLI hands them to the program (the plan tool's loader), validated with the
// program's own parser. Tests, the bench, the capacity plan and the policy config all read stacks
// through here, so they see exactly the settings a deployment would use.
import * as path from "node:path";

import { parseStackConfig, type StackConfig } from "../config";
import { readStackFiles, runtimeConfig } from "../plan/stack-files";

export const STACKS = ["dev", "prod"] as const;
export type StackName = (typeof STACKS)[number];

export const REPO_ROOT = path.resolve(__dirname, "..");

/** The stack's config as the program receives it: `<project>:<key>` → string. */
export function rawStackConfig(stack: string, root = REPO_ROOT): Record<string, string> {
  return runtimeConfig(readStackFiles(root, stack, {}));
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
