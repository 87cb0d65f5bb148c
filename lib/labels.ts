// Labels every resource of the stack carries, set once through the gcp provider's `defaultLabels`
// (resource transforms would also work under `pulumi up`, but not under the mocks the plan uses).
// Deliberately no platform label: the data tier must not change when `platform` does.

/** A GCP label value: lower-case letters, digits, '_' and '-', at most 63 characters. */
export function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "-")
    .slice(0, 63);
}

export function stackLabels(args: { readonly app: string; readonly stack: string }): Record<string, string> {
  return { app: labelValue(args.app), stack: labelValue(args.stack), "managed-by": "pulumi" };
}
