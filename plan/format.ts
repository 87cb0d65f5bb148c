// Human forms of a plan (a `pulumi preview`-like tree) and of a diff (a `pulumi preview --diff`-like list).
import {
  SECRET_TEXT,
  UNKNOWN_TEXT,
  type PlanDiff,
  type PlanDocument,
  type PlanNotice,
  type PlanResource,
  type PropertyChange,
} from "./types";

/** JSON for values, except the secret and unknown markers, which read better bare. */
function show(value: unknown): string {
  return value === SECRET_TEXT || value === UNKNOWN_TEXT ? value : JSON.stringify(value);
}

const NOTICE_WIDTH = 100;

/** The notice as a paragraph: what the offline plan compares and what decides. */
function noticeLines(notice: PlanNotice): string[] {
  const lines = [""];
  for (const word of notice.text.split(" ")) {
    const last = lines.length - 1;
    if (lines[last] !== "" && `${lines[last]} ${word}`.length > NOTICE_WIDTH) lines.push(word);
    else lines[last] = lines[last] === "" ? word : `${lines[last]} ${word}`;
  }
  return ["", ...lines.map((line) => `  ${line}`), ""];
}

/** Rows of the tree: children under their parent, in registration order; orphans and roots at the top. */
function treeRows(resources: readonly PlanResource[]): { prefix: string; resource: PlanResource }[] {
  const urns = new Set(resources.map((resource) => resource.urn));
  const children = new Map<string | null, PlanResource[]>();
  for (const resource of resources) {
    const parent = resource.parent !== null && urns.has(resource.parent) ? resource.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), resource]);
  }
  const rows: { prefix: string; resource: PlanResource }[] = [];
  const visit = (parent: string | null, indent: string, depth: number) => {
    const siblings = children.get(parent) ?? [];
    siblings.forEach((resource, index) => {
      const last = index === siblings.length - 1;
      rows.push({ prefix: depth === 0 ? "" : `${indent}${last ? "└─ " : "├─ "}`, resource });
      visit(resource.urn, depth === 0 ? "" : `${indent}${last ? "   " : "│  "}`, depth + 1);
    });
  };
  visit(null, "", 0);
  return rows;
}

export function formatPlan(plan: PlanDocument): string {
  const rows = treeRows(plan.resources);
  const width = Math.max(...rows.map(({ prefix, resource }) => prefix.length + resource.type.length));
  const lines = [
    `Plan of ${plan.project}/${plan.stack} (offline, mocked providers):`,
    ...noticeLines(plan.notice),
  ];
  for (const { prefix, resource } of rows) {
    lines.push(
      ` +  ${`${prefix}${resource.type}`.padEnd(width)}  ${resource.name}${resource.protect ? "  [protected]" : ""}`,
    );
  }
  const outputs = Object.entries(plan.outputs);
  if (outputs.length > 0) {
    lines.push("", "Outputs:");
    for (const [name, value] of outputs) lines.push(`    ${name}: ${show(value)}`);
  }
  const counts = new Map<string, number>();
  for (const resource of plan.resources) counts.set(resource.type, (counts.get(resource.type) ?? 0) + 1);
  lines.push("", "Resources by type:");
  for (const [type, count] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${String(count).padStart(4)}  ${type}`);
  }
  lines.push(`  ${String(plan.resources.length).padStart(4)}  to create`);
  return `${lines.join("\n")}\n`;
}

function changeLine(change: PropertyChange): string {
  if (change.before === undefined) return `    + ${change.path}: ${show(change.after)}`;
  if (change.after === undefined) return `    - ${change.path}: ${show(change.before)}`;
  return `    ~ ${change.path}: ${show(change.before)} => ${show(change.after)}`;
}

export function formatDiff(diff: PlanDiff, beforeLabel: string, afterLabel: string): string {
  const lines = [`Changes from ${beforeLabel} to ${afterLabel}:`, ...noticeLines(diff.notice)];
  for (const resource of diff.added) lines.push(`+ ${resource.urn}`);
  for (const resource of diff.removed) lines.push(`- ${resource.urn}`);
  for (const { urn, diff: changes } of diff.changed) lines.push(`~ ${urn}`, ...changes.map(changeLine));
  const total = diff.added.length + diff.removed.length + diff.changed.length;
  if (total === 0) lines.push("  no changes");
  lines.push(
    "",
    `${diff.added.length} to add, ${diff.removed.length} to remove, ${diff.changed.length} to change`,
  );
  return `${lines.join("\n")}\n`;
}
