/**
 * tls-inspection against an incomplete chain: a leaf the capture shows without its intermediate
 * leads to no public root from the capture alone, like a re-signed one. When the issuer's
 * organisation is a public CA's (one of Node's store's roots carries it), the finding is a warning
 * that says both readings, never the error that sends someone to a firewall. The certificates are
 * made here with openssl and read by the detector's own chain reader (readChain).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readChain } from "../../src/detect/tls/index.js";
import type { TlsFacts } from "../../src/detect/types.js";
import { judgeCertificate, publicIssuerOrganisation } from "../../src/policy/certificate.js";
import { PLAIN_NAMER } from "../../src/policy/namer.js";

const HAVE_OPENSSL = spawnSync("openssl", ["version"]).status === 0;
const dir = mkdtempSync(path.join(tmpdir(), "pnc-cert-policy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

/** A CA with subject `caSubject` (ours: its key is made here) and a leaf for `host` it signed, as DER. */
function leafSignedBy(name: string, caSubject: string, host: string): Uint8Array {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}-ca.key`, "-out", `${name}-ca.pem`, "-days", "3650", "-subj", caSubject);
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${host}`);
  openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${name}-ca.pem`, "-CAkey", `${name}-ca.key`, "-CAcreateserial", "-days", "365", "-outform", "DER", "-out", `${name}.der`);
  return new Uint8Array(readFileSync(path.join(dir, `${name}.der`)));
}

/** TLS 1.2 facts with the chain the server sent (the leaf alone), as the detector fills them. */
function factsOf(der: Uint8Array, sni: string): TlsFacts {
  const r = readChain([der], 1);
  return {
    clientVersionCode: 0x0303, versionCode: 0x0303, clientVersion: "TLS 1.2", version: "TLS 1.2", sni, alpn: [], alpnSelected: null,
    cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", certificate: typeof r.leaf === "string" ? null : r.leaf, certificateVisible: true,
    chain: r.chain, chainsToPublicRoot: r.chainsToPublicRoot, truncated: [], helloRetryRequest: false, clientHelloSeen: true, serverHelloSeen: true, alerts: [],
  } as unknown as TlsFacts;
}

describe.skipIf(!HAVE_OPENSSL)("tls-inspection on a cloud row (certificate: public) — needs openssl", () => {
  const now = Date.now() / 1000;

  it("a leaf whose issuer names a public CA's organisation, sent without its intermediate: a warning with both readings", () => {
    const t = factsOf(leafSignedBy("amazon", "/C=US/O=Amazon/CN=Amazon RSA 2048 M01", "backup.example.druva.com"), "backup.example.druva.com");
    expect(t.chainsToPublicRoot).toBe(false);
    expect(publicIssuerOrganisation(t.chain[0])).toBe("Amazon");
    const j = judgeCertificate(t, "public", now, "backup.example.druva.com", PLAIN_NAMER)!;
    expect(j.code).toBe("tls-inspection");
    expect(j.severity).toBe("warning");
    expect(j.what).toContain("either the server leaves out its intermediate certificate, or something re-signs");
    expect(j.what).toContain("(Amazon)");
  });

  it("a leaf from an unnamed private CA: the error, 'a corporate CA'", () => {
    const t = factsOf(leafSignedBy("corp", "/O=Example Corp IT/CN=Example Corp Inspection CA", "backup.example.druva.com"), "backup.example.druva.com");
    expect(publicIssuerOrganisation(t.chain[0])).toBeNull();
    const j = judgeCertificate(t, "public", now, "backup.example.druva.com", PLAIN_NAMER)!;
    expect(j.code).toBe("tls-inspection");
    expect(j.severity).toBe("error");
    expect(j.what).toContain(", a corporate CA");
  });

  it("a firewall's CA named in inspecting-issuers.json stays the error even under a vendor's organisation", () => {
    const t = factsOf(leafSignedBy("forti", "/C=US/O=Fortinet/OU=Certificate Authority/CN=FGT60F FortiGate CA", "backup.example.druva.com"), "backup.example.druva.com");
    const j = judgeCertificate(t, "public", now, "backup.example.druva.com", PLAIN_NAMER)!;
    expect(j.severity).toBe("error");
    expect(j.what).toContain("(Fortinet FortiGate)");
  });
});
