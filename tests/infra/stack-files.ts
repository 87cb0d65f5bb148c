// The stack files as the Pulumi CLI hands them to a program: every value a string, structured
// values as JSON. Tests derive their expectations from these, so retuning a stack file does not
// break a test that only checks the value is wired through.
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { parse } from "yaml";

import { parseStackConfig, type StackConfig } from "../../config";

export const STACKS = ["dev", "prod"] as const;
export type StackName = (typeof STACKS)[number];

const ROOT = path.resolve(__dirname, "../..");

export function rawStackConfig(stack: StackName): Record<string, string> {
  const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(file.config).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

export function stackConfig(stack: StackName): StackConfig {
  return parseStackConfig(rawStackConfig(stack));
}
