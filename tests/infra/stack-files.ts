// The stack files as the Pulumi CLI hands them to a program: every value a string, structured
// values as JSON. Tests derive their expectations from these, so retuning a stack file does not
// break a test that only checks the value is wired through.
import * as path from "node:path";

import { parseStackConfig, type StackConfig } from "../../config";
import { loadStackConfig, runtimeConfig } from "../../plan/stack-config";

export const STACKS = ["dev", "prod"] as const;
export type StackName = (typeof STACKS)[number];

const ROOT = path.resolve(__dirname, "../..");

export function rawStackConfig(stack: StackName): Record<string, string> {
  return runtimeConfig(loadStackConfig(ROOT, stack, {}));
}

export function stackConfig(stack: StackName): StackConfig {
  return parseStackConfig(rawStackConfig(stack));
}
