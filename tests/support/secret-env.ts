// The API's secret environment variables, in the order both platforms' containers list them. Spelled
// out here, not derived, so a renamed variable in the component fails the tests instead of moving
// them along; checked once against the component's own table so the two cannot drift apart silently.
import { strict as assert } from "node:assert";

import { SECRET_ENV_NAMES } from "../../components/workload/api-environment";

type SecretEnvName = (typeof SECRET_ENV_NAMES)[keyof typeof SECRET_ENV_NAMES];

export const SECRET_ENV: readonly SecretEnvName[] = [
  "DATABASE_URL",
  "DATABASE_REPLICA_URLS",
  "DATABASE_CA_CERT",
  "REDIS_URL",
  "REDIS_CA_CERT",
];

assert.deepEqual(
  SECRET_ENV,
  Object.values(SECRET_ENV_NAMES),
  "tests/support/secret-env.ts and SECRET_ENV_NAMES in components/workload/api-environment.ts differ",
);
