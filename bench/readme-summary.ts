// README.md's benchmark summary is generated from bench/results.json, never typed: `npm run bench`
// rewrites it after a full run, `npm run bench -- --readme` from the committed results, and
// tests/bench/readme-summary.test.ts fails when the two differ.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_RESULTS_PATH, readBenchResults } from "./capacity-doc";
import { formatSummary } from "./report";
import type { BenchResults } from "./results";

export const README_PATH = join(__dirname, "..", "README.md");
const BEGIN = "<!-- bench summary: generated from bench/results.json by `npm run bench -- --readme` -->";
const END = "<!-- end of bench summary -->";

/** `readme` with the text between the markers replaced by the summary of `results`. */
export function withSummary(readme: string, results: BenchResults): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md lacks the markers ${BEGIN} ... ${END}`);
  return `${readme.slice(0, begin)}${BEGIN}\n\n${formatSummary(results)}\n\n${readme.slice(end)}`;
}

export function writeReadmeSummary(results: BenchResults = readBenchResults(DEFAULT_RESULTS_PATH)): void {
  writeFileSync(README_PATH, withSummary(readFileSync(README_PATH, "utf8"), results));
}
