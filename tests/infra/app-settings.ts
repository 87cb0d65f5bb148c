import type { AppSettings } from "../../components/workload/api-environment";

/** A replica's app settings for the resolver tests of the GKE workload and the Cloud Run service. */
export const APP_SETTINGS: AppSettings = {
  cpu: "1",
  memory: "1Gi",
  poolMax: 8,
  maxInFlight: 1000,
  cacheTtlSeconds: 60,
  shutdownGraceMs: 8000,
  logLevel: "info",
};
