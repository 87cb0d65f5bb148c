// Reads Pulumi.<stack>.yaml the way Pulumi hands config to the program (strings; structured values
// as JSON text) and validates it with the program's own parser, so bench and capacity see exactly the
// settings a deployment would use.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { parseStackConfig, type StackConfig } from "../config";

export const REPO_ROOT = resolve(__dirname, "..");

export function readStackConfig(stack: string, root = REPO_ROOT): StackConfig {
  const file = join(root, `Pulumi.${stack}.yaml`);
  const document = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(document?.config ?? {})) {
    raw[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  try {
    return parseStackConfig(raw);
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
