// Writes the policy pack's config for one stack, the file CI passes as `--policy-pack-config`:
//   npx tsx policy/stack-policy-config.ts prod > policy-config.json
// The capacity target and the quota grants come from Pulumi.yaml's defaults and Pulumi.<stack>.yaml, read the way the
// plan tool reads them and validated by the program's own parser (config.ts), so the policy holds
// the stack to exactly the number its file sets; the capacity itself is measured from the
// resources the program registers.
// Not loaded by the pack (index.ts): it reads the repository, which the pack does not need.
import { REPO_ROOT, stackConfig } from "../lib/stack-files";
import { CAPACITY_POLICY, QUOTA_POLICY, type CapacityPolicyConfig, type QuotaPolicyConfig } from "./policies";

/** Pulumi.yaml defaults + Pulumi.<stack>.yaml, handed to config.ts exactly as the program gets them. */
export function stackPolicyConfig(
  stack: string,
  root = REPO_ROOT,
): Record<typeof CAPACITY_POLICY, CapacityPolicyConfig> & Record<typeof QUOTA_POLICY, QuotaPolicyConfig> {
  const config = stackConfig(stack, root);
  return {
    [CAPACITY_POLICY]: { targetConcurrentRequests: config.targetConcurrentRequests },
    [QUOTA_POLICY]: config.quotas,
  };
}

if (require.main === module) {
  const stack = process.argv[2];
  if (!stack || !/^[A-Za-z0-9_.-]+$/.test(stack)) {
    console.error("usage: tsx policy/stack-policy-config.ts <stack>   (reads Pulumi.<stack>.yaml)");
    process.exit(2);
  }
  try {
    process.stdout.write(`${JSON.stringify(stackPolicyConfig(stack), null, 2)}\n`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}
