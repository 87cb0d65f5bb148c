// Reads a stack's config the way the Pulumi CLI hands it to a program: Pulumi.yaml's declared
// defaults, Pulumi.<stack>.yaml's values, then `--config` overrides; every value as a string
// (structured values as JSON). `secure:` values cannot be decrypted offline and become a placeholder
// marked secret.
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

import { EXIT_BAD_INPUT, PlanError } from "./errors";
import { SECRET_TEXT } from "./types";

/** What a program sees instead of a value that only the stack's passphrase could decrypt. */
export const SECRET_PLACEHOLDER = "offline-plan-secret-placeholder";

export interface StackFiles {
  project: string;
  /** The program: Pulumi.yaml's `main`, relative to the project root ("." = the root's package). */
  main: string;
  /** Full key (`gcp:region`, `<project>:database`) to the value as YAML holds it. */
  values: Record<string, unknown>;
  secretKeys: string[];
}

interface DeclaredKey {
  type?: string;
  default?: unknown;
}

const badInput = (message: string) => new PlanError(EXIT_BAD_INPUT, message);

function readYamlMapping(file: string, what: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw badInput(`${what} not found: ${file}`);
  const parsed: unknown = YAML.parse(fs.readFileSync(file, "utf8"));
  if (!isMapping(parsed)) throw badInput(`${file}: must be a YAML mapping`);
  return parsed;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A key without a namespace belongs to the project, as in Pulumi's stack and project files. */
function fullKey(key: string, project: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** Pulumi.yaml `config:` entries: `key: default` or `key: { type, default | value }`. */
function declaredKeys(projectFile: Record<string, unknown>, project: string): Map<string, DeclaredKey> {
  const declared = new Map<string, DeclaredKey>();
  const block = projectFile.config;
  if (!isMapping(block)) return declared;
  for (const [key, entry] of Object.entries(block)) {
    declared.set(
      fullKey(key, project),
      isMapping(entry)
        ? {
            type: typeof entry.type === "string" ? entry.type : undefined,
            default: entry.default ?? entry.value,
          }
        : { default: entry },
    );
  }
  return declared;
}

const typeChecks: Record<string, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string" || typeof value === "number" || typeof value === "boolean",
  integer: (value) => Number.isInteger(value) || (typeof value === "string" && /^-?\d+$/.test(value)),
  boolean: (value) => typeof value === "boolean" || value === "true" || value === "false",
  array: Array.isArray,
};

/** Replaces `{ secure: ... }` leaves with the placeholder; returns whether any was found. */
function redactSecure(value: unknown): { value: unknown; secret: boolean } {
  if (isMapping(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "secure") return { value: SECRET_PLACEHOLDER, secret: true };
    let secret = false;
    const entries = Object.entries(value).map(([key, inner]) => {
      const redacted = redactSecure(inner);
      secret ||= redacted.secret;
      return [key, redacted.value] as const;
    });
    return { value: Object.fromEntries(entries), secret };
  }
  if (Array.isArray(value)) {
    const items = value.map(redactSecure);
    return { value: items.map((item) => item.value), secret: items.some((item) => item.secret) };
  }
  return { value, secret: false };
}

/** `pulumi config set --path` typing: "true"/"false" are booleans, integers are numbers, the rest strings. */
function pathValue(text: string): unknown {
  if (text === "true" || text === "false") return text === "true";
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

const CONFIG_KEY = /^(?:[A-Za-z0-9_-]+:)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/**
 * Applies one `--config key=value`. A top-level key takes the string as is (as `pulumi config set`
 * stores it; a structured key then takes JSON text). A dotted key (`database.tier`) sets a field
 * inside a structured value, typed like `pulumi config set --path`.
 */
function applyOverride(config: StackFiles, key: string, text: string): void {
  if (!CONFIG_KEY.test(key))
    throw badInput(`--config ${key}: not a config key (expected [namespace:]name[.field...])`);
  const [head, ...fields] = fullKey(key, config.project).split(".");
  config.secretKeys = config.secretKeys.filter((secretKey) => secretKey !== head);
  if (fields.length === 0) {
    config.values[head] = text;
    return;
  }
  const root: unknown = structuredClone(config.values[head] ?? {});
  let node = root;
  for (const [index, field] of fields.entries()) {
    if (!isMapping(node)) {
      throw badInput(`--config ${key}: ${[head, ...fields.slice(0, index)].join(".")} is not a mapping`);
    }
    if (index === fields.length - 1) node[field] = pathValue(text);
    else node = node[field] ??= {};
  }
  config.values[head] = root;
}

/** Loads `<root>/Pulumi.yaml` and `<root>/Pulumi.<stack>.yaml` and applies the overrides. */
export function readStackFiles(
  root: string,
  stack: string,
  overrides: Readonly<Record<string, string>>,
): StackFiles {
  const projectFile = readYamlMapping(path.join(root, "Pulumi.yaml"), "Pulumi.yaml");
  if (typeof projectFile.name !== "string")
    throw badInput(`${path.join(root, "Pulumi.yaml")}: has no project name`);
  const project = projectFile.name;
  const stackFileName = `Pulumi.${stack}.yaml`;
  const stackFile = readYamlMapping(path.join(root, stackFileName), `stack file for stack "${stack}"`);
  const main = typeof projectFile.main === "string" ? projectFile.main : ".";
  const config: StackFiles = { project, main, values: {}, secretKeys: [] };

  const declared = declaredKeys(projectFile, project);
  for (const [key, declaration] of declared) {
    if (declaration.default !== undefined) config.values[key] = declaration.default;
  }
  for (const [key, raw] of Object.entries(isMapping(stackFile.config) ? stackFile.config : {})) {
    const { value, secret } = redactSecure(raw);
    config.values[fullKey(key, project)] = value;
    if (secret) config.secretKeys.push(fullKey(key, project));
  }
  for (const [key, text] of Object.entries(overrides)) applyOverride(config, key, text);

  for (const [key, { type }] of declared) {
    const value = config.values[key];
    if (value === undefined && type !== undefined) {
      throw badInput(
        `${key}: is required (declared in Pulumi.yaml without a default) but not set in ${stackFileName}`,
      );
    }
    const check = type === undefined ? undefined : typeChecks[type];
    if (value !== undefined && check !== undefined && !check(value)) {
      throw badInput(`${key}: must be of type ${type} (declared in Pulumi.yaml)`);
    }
  }
  return config;
}

/** The config map a Pulumi program receives: strings, structured values as JSON. */
export function runtimeConfig(config: StackFiles): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.values)) {
    if (value === null || value === undefined) continue;
    strings[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return strings;
}

/** The plan document's `config`: project keys without their namespace, secrets hidden. */
export function documentConfig(config: StackFiles): Record<string, unknown> {
  const prefix = `${config.project}:`;
  return Object.fromEntries(
    Object.entries(config.values).map(([key, value]) => [
      key.startsWith(prefix) ? key.slice(prefix.length) : key,
      config.secretKeys.includes(key) ? SECRET_TEXT : value,
    ]),
  );
}
