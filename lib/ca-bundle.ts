// Server CA bundles for TLS clients of Cloud SQL and Memorystore; pure.

/**
 * Every server CA, PEM, one after another, each once. Both services publish the next CA before the
 * current one expires, and Cloud SQL replicas may carry their own: trusting all of them keeps
 * clients connecting across a rotation and to every instance.
 */
export function caBundle(certs: readonly { readonly cert?: string }[] | undefined): string {
  const pems = (certs ?? [])
    .map((entry) => entry.cert?.trim())
    .filter((cert): cert is string => Boolean(cert));
  return [...new Set(pems)].join("\n");
}
