// DATABASE_CA_CERT against real PostgreSQL servers with ssl=on and certificates made here: TLS to the
// primary and the replica, the server verified against the CA, and every other case a loud failure.
import assert from "node:assert/strict";
import { ApiEnv, runApiUntilExit, startApi } from "../../local/api";
import { PostgresPair, queryOnce, startPostgresPair } from "../../local/postgres";
import { waitFor } from "../../local/processes";
import { KeyPair, createCertificateAuthority, createServerCertificate } from "../support/certificates";
import { ItemsClient, uniqueName } from "../support/items";
import { useSharedEnvironment } from "../support/mocha";

const environment = useSharedEnvironment();

// Cloud SQL's per-instance CA names the server only by CN `<project>:<instance>`, no subject alt name.
const CLOUD_SQL_LIKE_CN = "test-project:items-db";

/** Whether every connection the API holds to the server at `url` is TLS, and there is at least one. */
async function apiConnectionsUseTls(url: string): Promise<boolean> {
  const rows = await queryOnce<{ ssl: boolean }>(
    url,
    `SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'items-api'`,
  );
  return rows.length > 0 && rows.every((row) => row.ssl);
}

async function expectStartFailureNaming(env: ApiEnv, pattern: RegExp): Promise<void> {
  const result = await runApiUntilExit(env);
  assert.equal(result.code, 1, `exit code; output:\n${result.outputLines.join("\n")}`);
  assert.ok(
    result.outputLines.some((line) => pattern.test(line)),
    `no line matches ${pattern}:\n${result.outputLines.join("\n")}`,
  );
}

describe("DATABASE_CA_CERT: TLS to PostgreSQL, verified against the instance's CA", function () {
  this.timeout(90_000);
  let ca: KeyPair;
  let pair: PostgresPair;

  const tlsEnv = (caPem: string, target: PostgresPair = pair): ApiEnv => ({
    DATABASE_URL: target.primaryUrl,
    DATABASE_REPLICA_URL: target.replicaUrl,
    DATABASE_CA_CERT: caPem,
    LOG_LEVEL: "warn",
  });

  before(async () => {
    ca = createCertificateAuthority("Test per-instance server CA");
    pair = await startPostgresPair({ tls: createServerCertificate(ca, CLOUD_SQL_LIKE_CN) });
  });

  after(async () => {
    await pair?.stop();
  });

  it("with the right CA: becomes ready, serves reads and writes, and every connection is TLS", async () => {
    const api = await startApi(tlsEnv(ca.certificatePem), { waitReady: true });
    try {
      const client = new ItemsClient(api.baseUrl);
      const created = await client.create(uniqueName("tls"));
      assert.equal((await client.fetchItem(created.id)).name, created.name);
      // Lists go to the replica once it has replayed the schema the API just migrated.
      await waitFor("the replica to replay the migration", async () => {
        const [row] = await queryOnce<{ ready: boolean }>(
          pair.replicaUrl,
          "SELECT to_regproc('items_page') IS NOT NULL AS ready",
        );
        return row?.ready ? true : undefined;
      });
      await client.page("?limit=5");
      assert.ok(await apiConnectionsUseTls(pair.primaryUrl), "the API's connections to the primary use TLS");
      assert.ok(await apiConnectionsUseTls(pair.replicaUrl), "the API's connections to the replica use TLS");
    } finally {
      await api.stop();
    }
  });

  it("with another CA: refuses to start and names DATABASE_CA_CERT, never falls back to plaintext", async () => {
    const otherCa = createCertificateAuthority("Some other CA");
    await expectStartFailureNaming(tlsEnv(otherCa.certificatePem), /DATABASE_CA_CERT/);
  });

  it("with a certificate whose subject alt names do not name the host: refuses to start", async () => {
    // A shared CA signs many servers, so a certificate that names hosts must name the one dialled.
    const sharedCaPair = await startPostgresPair({
      tls: createServerCertificate(ca, CLOUD_SQL_LIKE_CN, "DNS:other-instance.example"),
    });
    try {
      await expectStartFailureNaming(tlsEnv(ca.certificatePem, sharedCaPair), /DATABASE_CA_CERT.*ALTNAME/);
    } finally {
      await sharedCaPair.stop();
    }
  });

  it("against a server without TLS: refuses to start and names DATABASE_CA_CERT", async () => {
    const { postgres } = await environment();
    await expectStartFailureNaming(
      tlsEnv(ca.certificatePem, postgres),
      /DATABASE_CA_CERT .*does not offer TLS/,
    );
  });

  it("rejects malformed PEM and a URL that sets TLS itself, at start-up, naming the variable", async () => {
    const truncated = ca.certificatePem.replace(/\n[A-Za-z0-9+/=]{20,}\n/, "\nnot base64\n");
    for (const pem of ["not a certificate", truncated]) {
      await expectStartFailureNaming(tlsEnv(pem), /config error: DATABASE_CA_CERT must be PEM/);
    }
    await expectStartFailureNaming(
      { ...tlsEnv(ca.certificatePem), DATABASE_URL: `${pair.primaryUrl}?sslmode=no-verify` },
      /config error: DATABASE_CA_CERT .*DATABASE_URL must not carry sslmode/,
    );
  });
});
