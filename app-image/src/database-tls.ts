import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from "node:tls";

/**
 * TLS to PostgreSQL when DATABASE_CA_CERT is set: the connection is refused unless the server's
 * certificate chains to that CA, and a name check is added where the certificate makes one possible.
 *
 * Why not plain verify-full (host name against the certificate): Cloud SQL's default server CA mode
 * is a per-instance CA (GOOGLE_MANAGED_INTERNAL_CA), a CA that signs the certificate of that one
 * instance only, whose certificate names the instance solely by CN `<project>:<instance>`, with no
 * subject alternative name for the private IP the API connects to. A host name check would reject
 * the right server; trusting only that instance's CA already identifies the instance (libpq calls
 * this verify-ca). With a shared or customer-managed CA, one CA signs many instances, so there the
 * chain alone does not say which server answered; such certificates carry subject alternative names,
 * and then the host of the URL must match them (verify-full).
 *
 * A replica is an instance of its own with its own CA: DATABASE_CA_CERT then holds both PEM blocks.
 */
export function databaseTls(caCert: string): ConnectionOptions {
  return {
    ca: caCert,
    rejectUnauthorized: true,
    checkServerIdentity: (host: string, certificate: PeerCertificate) =>
      certificate.subjectaltname ? checkServerIdentity(host, certificate) : undefined,
  };
}

// URL parameters with which node-postgres would replace the `ssl` object above (pg-connection-string
// parses them into `ssl` and the parsed URL wins over the pool options): with a CA set, TLS has one owner.
const URL_TLS_PARAMETERS = ["ssl", "sslmode", "sslrootcert", "sslcert", "sslkey", "uselibpqcompat"];

export function urlTlsParameters(url: string): string[] {
  const { searchParams } = new URL(url);
  return URL_TLS_PARAMETERS.filter((name) => searchParams.has(name));
}

// Codes of Node's certificate verification errors (OpenSSL's X509_V_ERR_* names, and the host name
// check's), e.g. SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID.
const CERTIFICATE_ERROR_CODE = /CERT|ISSUER|LEAF_SIGNATURE|INVALID_CA|HOSTNAME_MISMATCH/;
// node-postgres' error when the server answers the TLS request with "no".
const SERVER_WITHOUT_TLS = "The server does not support SSL connections";

/**
 * A connection failure caused by TLS verification, restated so the log names the variable to look
 * at; any other error is returned as is.
 */
export function explainTlsFailure(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (CERTIFICATE_ERROR_CODE.test(code)) {
    return new Error(
      `the database server's certificate does not verify against DATABASE_CA_CERT (${code}: ${error.message})`,
      {
        cause: error,
      },
    );
  }
  if (error.message.includes(SERVER_WITHOUT_TLS)) {
    return new Error(`DATABASE_CA_CERT is set but the database server does not offer TLS`, { cause: error });
  }
  return error;
}
