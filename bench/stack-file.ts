// Reads a stack's config the way the Pulumi CLI hands it to the program (the plan tool's loader:
// Pulumi.yaml defaults + Pulumi.<stack>.yaml) and validates it with the program's own parser, so
// bench and capacity see exactly the settings a deployment would use.
import { join, resolve } from "node:path";
import { parseStackConfig, type StackConfig } from "../config";
import { loadStackConfig, runtimeConfig } from "../plan/stack-config";

export const REPO_ROOT = resolve(__dirname, "..");

export function readStackConfig(stack: string, root = REPO_ROOT): StackConfig {
  try {
    return parseStackConfig(runtimeConfig(loadStackConfig(root, stack, {})));
  } catch (error) {
    const file = join(root, `Pulumi.${stack}.yaml`);
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
