// Memoised offline plans (plan/run.ts): each plan is a child process compiling and running the
// program, so a test file computes each one once and every test that asks for it shares the result.
import { runPlan, type RunPlanOptions } from "../../plan/run";
import type { PlanDocument } from "../../plan/types";

/**
 * `runPlan` memoised by a key the caller chooses: the first call for a key runs the plan with its
 * options, every later call for that key gets the same promise (a failed plan stays failed).
 */
export function planCache(): (key: string, options: RunPlanOptions) => Promise<PlanDocument> {
  const plans = new Map<string, Promise<PlanDocument>>();
  return (key, options) => {
    let plan = plans.get(key);
    if (!plan) {
      plan = runPlan(options);
      plans.set(key, plan);
    }
    return plan;
  };
}

/** One plan per named scenario of `scenarios`, run on first use, for the whole test run. */
export function cachedPlans<const Scenarios extends Readonly<Record<string, RunPlanOptions>>>(
  scenarios: Scenarios,
): (scenario: keyof Scenarios & string) => Promise<PlanDocument> {
  const planFor = planCache();
  return (scenario) => planFor(scenario, scenarios[scenario]);
}
