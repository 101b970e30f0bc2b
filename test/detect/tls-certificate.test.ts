/**
 * Certificate chain facts (`tls.chain`, `tls.chainsToPublicRoot`, `tls.certificateVisible`) on
 * certificates made with openssl for the test (self-signed RSA-1024 with SHA-1; a private EC CA
 * and a leaf it signed) and on a real chain from the public corpus that leads to a Mozilla root,
 * each carried in a TLS 1.2 server flight built byte by byte.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeFiles } from "../../src/pipeline/index.js";
import { sampleOf } from "../../src/flow/sample.js";
import type { Conversation } from "../../src/flow/conversation.js";
import { KEEP_ALL_BYTES } from "../support/tls-oracle.js";
import { CertificateCache, readChain, signatureAlgorithmOid } from "../../src/detect/tls/certificate.js";
import { analyzeTls } from "../../src/detect/tls/index.js";
import { emptyFacts, type TlsFacts } from "../../src/detect/types.js";
import { PUBLIC_DIR } from "../support/corpus.js";
import { bytes, CT, handshake, HT, random32, record, u16, vec16, vec24, vec8 } from "./tls-bytes.js";

function haveOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = haveOpenssl();

const dir = mkdtempSync(path.join(tmpdir(), "netcheck-certs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

function der(name: string): Uint8Array {
  openssl("x509", "-in", `${name}.pem`, "-outform", "DER", "-out", `${name}.der`);
  return Uint8Array.from(readFileSync(path.join(dir, `${name}.der`)));
}

/** TLS 1.2 ClientHello (RFC 5246 §7.4.1.2), the smallest the parser takes: one suite, null compression. */
const clientFlight = record(
  CT.handshake,
  0x0301,
  handshake(
    HT.clientHello,
    bytes(
      u16(0x0303), // client_version: TLS 1.2
      random32(0x11), // random
      vec8(), // session_id: empty
      vec16(u16(0xc02f)), // cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
      vec8(0x00), // compression_methods: null
    ),
  ),
);

/** TLS 1.2 server flight: ServerHello (TLS 1.2, 0xc02f, no extensions), then Certificate carrying `certs` in order. */
function serverFlight(certs: Uint8Array[]): Uint8Array {
  return record(
    CT.handshake,
    0x0303,
    bytes(
      handshake(
        HT.serverHello,
        bytes(
          u16(0x0303), // server_version: TLS 1.2
          random32(0x66), // random
          vec8(), // session_id: empty
          u16(0xc02f), // cipher_suite
          0x00, // compression_method: null
        ),
      ),
      handshake(HT.certificate, vec24(...certs.map((c) => vec24(c)))), // certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>
    ),
  );
}

function tlsOf(certs: Uint8Array[]): TlsFacts {
  const out = emptyFacts();
  analyzeTls(clientFlight, serverFlight(certs), out);
  return out.tls!;
}

describe.skipIf(!OPENSSL)("certificate facts from openssl-made certificates", () => {
  if (OPENSSL) {
    // Self-signed RSA-1024 with a SHA-1 signature: every weakness the policy looks for at once.
    openssl("req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes", "-keyout", "weak.key", "-out", "weak.pem", "-days", "30", "-subj", "/CN=weak.example", "-addext", "subjectAltName=DNS:weak.example,IP:10.0.0.5");
    // A private CA (EC P-384, self-signed, SHA-384) and a leaf (EC P-256) it signed with SHA-256.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/O=Corp/CN=Corp Inspection CA");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=backup.example");
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-sha256", "-days", "30", "-out", "leaf.pem");
  }

  it("self-signed RSA-1024 SHA-1: key size, signature, self-signed, fingerprint, no public root", () => {
    const weak = der("weak");
    const t = tlsOf([weak]);
    expect(t.certificateVisible).toBe(true);
    expect(t.certificate?.subject).toBe("CN=weak.example");
    expect(t.chain).toHaveLength(1);
    const c = t.chain[0];
    expect(c.subject).toBe("CN=weak.example");
    expect(c.issuer).toBe("CN=weak.example");
    expect(c.san).toEqual(["weak.example", "10.0.0.5"]);
    expect(c.keyType).toBe("rsa");
    expect(c.keyBits).toBe(1024);
    expect(c.curve).toBeNull();
    expect(c.signatureAlgorithm).toBe("sha1WithRSAEncryption");
    expect(c.weakSignatureHash).toBe(true);
    expect(c.selfSigned).toBe(true);
    // openssl's own fingerprint of the same file.
    const fp = execFileSync("openssl", ["x509", "-in", "weak.pem", "-noout", "-fingerprint", "-sha256"], { cwd: dir, encoding: "utf8" });
    expect(fp.trim().replace(/^sha256 Fingerprint=/i, "").replace(/:/g, "").toLowerCase()).toBe(c.sha256);
    expect(c.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(new Date(c.notAfter).getTime() - new Date(c.notBefore).getTime()).toBe(30 * 86400_000);
    expect(t.chainsToPublicRoot).toBe(false);
  });

  it("a private CA chain: the leaf is not self-signed, the CA is, and neither leads to a public root", () => {
    const leaf = der("leaf");
    const ca = der("ca");
    const t = tlsOf([leaf, ca]);
    expect(t.certificate?.chainLength).toBe(2);
    expect(t.chain.map((c) => [c.subject, c.keyType, c.keyBits, c.curve, c.signatureAlgorithm, c.weakSignatureHash, c.selfSigned])).toEqual([
      ["CN=backup.example", "ec", 256, "prime256v1", "ecdsa-with-SHA256", false, false],
      ["O=Corp, CN=Corp Inspection CA", "ec", 384, "secp384r1", "ecdsa-with-SHA384", false, true],
    ]);
    expect(t.chain[0].issuer).toBe("O=Corp, CN=Corp Inspection CA");
    expect(t.chainsToPublicRoot).toBe(false);
  });

  it("a certificate whose subject equals its issuer but whose signature is not its own is not self-signed", () => {
    // Sign a leaf named like the CA with the CA's key: subject == issuer, but its own key does not verify it.
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "twin.key", "-out", "twin.csr", "-subj", "/O=Corp/CN=Corp Inspection CA");
    openssl("x509", "-req", "-in", "twin.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-sha256", "-days", "30", "-out", "twin.pem");
    const t = tlsOf([der("twin")]);
    expect(t.chain[0].subject).toBe(t.chain[0].issuer);
    expect(t.chain[0].selfSigned).toBe(false);
  });

  it("the analysis's certificate cache gives the same facts as parsing afresh, as copies", () => {
    const cache = new CertificateCache();
    const ders = [der("leaf"), der("ca")];
    const fresh = readChain(ders, 2);
    const first = readChain(ders, 2, cache);
    first.chain[0].san.push("changed.example"); // a report changed later (redaction) must not change the cache
    first.chain[0].subject = "changed";
    const second = readChain(ders, 2, cache);
    expect(second).toEqual(fresh);
    expect(first.chainsToPublicRoot).toBe(false);
    const out = emptyFacts();
    analyzeTls(clientFlight, serverFlight(ders), out, 0, 0, cache);
    expect(out.tls?.chain).toEqual(fresh.chain);
  });

  it("reads the signature algorithm from the DER where RFC 5280 puts it, and nothing from a non-certificate", () => {
    expect(signatureAlgorithmOid(der("weak"))).toBe("1.2.840.113549.1.1.5");
    expect(signatureAlgorithmOid(der("leaf"))).toBe("1.2.840.10045.4.3.2");
    expect(signatureAlgorithmOid(bytes(0x30, 0x03, 0x02, 0x01, 0x00))).toBeNull();
    expect(signatureAlgorithmOid(bytes())).toBeNull();
  });
});

describe("certificate visibility", () => {
  it("TLS 1.3: the certificate is encrypted, so certificateVisible is false and the chain empty", () => {
    const out = emptyFacts();
    const sh13 = record(
      CT.handshake,
      0x0303,
      handshake(
        HT.serverHello,
        bytes(
          u16(0x0303), // legacy_version
          random32(0x44), // random
          vec8(), // legacy_session_id_echo
          u16(0x1301), // cipher_suite: TLS_AES_128_GCM_SHA256
          0x00, // legacy_compression_method
          vec16(bytes(u16(0x002b), vec16(u16(0x0304)))), // supported_versions: selected_version TLS 1.3
        ),
      ),
    );
    analyzeTls(clientFlight, sh13, out);
    expect(out.tls?.version).toBe("TLS 1.3");
    expect(out.tls?.certificateVisible).toBe(false);
    expect(out.tls?.chain).toEqual([]);
    expect(out.tls?.chainsToPublicRoot).toBeNull();
  });

  it("no ServerHello: visibility is unknown (null), not false", () => {
    const out = emptyFacts();
    analyzeTls(clientFlight, new Uint8Array(0), out);
    expect(out.tls?.certificateVisible).toBeNull();
  });
});

describe("truncated hellos say so and leave what they could not read null", () => {
  it("a ClientHello cut inside its body", () => {
    const out = emptyFacts();
    const cut = clientFlight.subarray(0, 20); // record header (5) + handshake header (4) + 11 body bytes
    analyzeTls(cut, serverFlight([]), out);
    const t = out.tls!;
    expect(t.clientHelloSeen).toBe(false);
    expect(t.clientVersion).toBeNull();
    expect(t.sni).toBeNull();
    expect(t.ja3).toBeNull();
    expect(t.truncated).toHaveLength(1);
    expect(t.truncated[0]).toMatchObject({ from: "client", message: "ClientHello", declared: clientFlight.length - 9, truncatedAt: 20 });
    expect(t.truncated[0].reason).toContain("clientVersion, sni, alpn, ja3 and ja4 are unknown");
  });

  it("a whole handshake has no truncation", () => {
    const out = emptyFacts();
    analyzeTls(clientFlight, serverFlight([]), out);
    expect(out.tls?.truncated).toEqual([]);
  });
});

describe.skipIf(!existsSync(path.join(PUBLIC_DIR, "ipv6-tls12-and-gquic.pcap")))("a real chain to a public root (captures/public/ipv6-tls12-and-gquic.pcap)", () => {
  it("leads to a Mozilla root in any order, and not without its intermediates", async () => {
    const a = await analyzeFiles([path.join(PUBLIC_DIR, "ipv6-tls12-and-gquic.pcap")], { flow: { retainedBytes: KEEP_ALL_BYTES } });
    const c = a.conversations.find((x) => (x.facts?.tls?.chain.length ?? 0) >= 2)!;
    expect(c).toBeDefined();
    const t = c.facts!.tls!;
    expect(t.chainsToPublicRoot).toBe(true);
    expect(t.chain.every((x) => !x.selfSigned)).toBe(true);
    // The DERs again, from the sample, to re-send them in other orders.
    const s = sampleOf(c.conv as Conversation);
    const ders: Uint8Array[] = [];
    for (let i = 0; i + 4 < s.server.length && ders.length < t.chain.length; i++) {
      // Find each certificate by its SHA-256 among the SEQUENCEs in the server's bytes.
      if (s.server[i] !== 0x30 || s.server[i + 1] !== 0x82) continue;
      const len = 4 + ((s.server[i + 2] << 8) | s.server[i + 3]);
      try {
        const x = new X509Certificate(s.server.subarray(i, i + len));
        if (t.chain.some((e) => e.sha256 === x.fingerprint256.replace(/:/g, "").toLowerCase())) {
          ders.push(s.server.slice(i, i + len));
          i += len - 1;
        }
      } catch {
        // not a certificate
      }
    }
    expect(ders).toHaveLength(t.chain.length);
    expect(tlsOf([ders[0], ...ders.slice(1).reverse()]).chainsToPublicRoot).toBe(true);
    expect(tlsOf([ders[0]]).chainsToPublicRoot).toBe(false); // the leaf alone: no root issued it
  });
});

describe.skipIf(!existsSync(path.join(PUBLIC_DIR, "tls13-missing-clienthello-segment.pcap")))("a real ClientHello whose second segment was never captured", () => {
  it("is reported cut at the byte where the captured stream stops, with its facts null, not guessed", async () => {
    const a = await analyzeFiles([path.join(PUBLIC_DIR, "tls13-missing-clienthello-segment.pcap")]);
    const t = a.conversations[0].facts!.tls!;
    // The ClientHello declares 1496 bytes; its first segment carried the record header, the
    // handshake header and 1015 body bytes (1024 stream bytes), the next segment is missing.
    expect(t.truncated).toEqual([
      {
        from: "client",
        message: "ClientHello",
        declared: 1496,
        truncatedAt: 1024,
        reason:
          "ClientHello of 1496 bytes is cut at byte 1024: the captured bytes of this side end there (snap length, a segment not captured, or the end of the kept prefix); clientVersion, sni, alpn, ja3 and ja4 are unknown",
      },
    ]);
    expect([t.clientVersion, t.sni, t.ja3, t.ja4]).toEqual([null, null, null, null]);
    expect(t.version).toBe("TLS 1.3"); // the ServerHello was whole
    expect(t.certificateVisible).toBe(false);
  });
});
