// Throwaway X.509 material made with the openssl CLI: a CA, and server certificates it signs, shaped
// like Cloud SQL's (a per-instance CA; the server named only by CN `<project>:<instance>`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTempDir, trackTempDir } from "../../local/processes";

export interface KeyPair {
  readonly certificatePem: string;
  readonly keyPem: string;
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function inTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "certs-"));
  trackTempDir(dir);
  try {
    return work(dir);
  } finally {
    removeTempDir(dir);
  }
}

export function createCertificateAuthority(commonName: string): KeyPair {
  return inTempDir((dir) => {
    openssl(dir, [
      "req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
      "-subj", `/CN=${commonName}`,
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]); // prettier-ignore
    return {
      certificatePem: readFileSync(join(dir, "ca.crt"), "utf8"),
      keyPem: readFileSync(join(dir, "ca.key"), "utf8"),
    };
  });
}

/** A server certificate signed by `ca`; `subjectAltName` (e.g. `DNS:db.example`) adds that extension. */
export function createServerCertificate(ca: KeyPair, commonName: string, subjectAltName?: string): KeyPair {
  return inTempDir((dir) => {
    writeFileSync(join(dir, "ca.crt"), ca.certificatePem);
    writeFileSync(join(dir, "ca.key"), ca.keyPem, { mode: 0o600 });
    writeFileSync(
      join(dir, "ext.cnf"),
      subjectAltName === undefined ? "" : `subjectAltName=${subjectAltName}\n`,
    );
    openssl(dir, [
      "req",
      ...EC_KEY,
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      `/CN=${commonName}`,
    ]);
    openssl(dir, [
      "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
      "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf",
    ]); // prettier-ignore
    return {
      certificatePem: readFileSync(join(dir, "server.crt"), "utf8"),
      keyPem: readFileSync(join(dir, "server.key"), "utf8"),
    };
  });
}
