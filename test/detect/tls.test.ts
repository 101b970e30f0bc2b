import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  alertDescriptionName,
  analyzeTls,
  certificateFacts,
  cipherName,
  findTlsStart,
  parseClientHello,
  parseServerHello,
  parseTlsHandshake,
  probeTlsClient,
  probeTlsServer,
  tlsDetector,
  tlsVersionName,
} from "../../src/detect/tls/index.js";
import { emptyFacts, type Anomaly, type ConversationFacts, type StreamSample } from "../../src/detect/types.js";
import {
  alert,
  ascii,
  bytes,
  ccs,
  CT,
  ext,
  handshake,
  hrrRandom,
  HT,
  makeTestCertificate,
  random32,
  record,
  records,
  u16,
  u16s,
  u24,
  vec16,
  vec24,
  vec8,
} from "./tls-bytes.js";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const sha12 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

// ---------------------------------------------------------------------------------------------
// Messages used throughout, built field by field.
// ---------------------------------------------------------------------------------------------

/** A TLS 1.3-capable ClientHello with GREASE in ciphers, extensions, groups and versions. */
function clientHelloBody(sni = "example.com"): Uint8Array {
  return bytes(
    u16(0x0303), // legacy_version: TLS 1.2
    random32(0x11), // random
    vec8(new Array(32).fill(0x22)), // legacy_session_id: 32 bytes
    vec16(u16s([0x0a0a, 0x1301, 0x1302, 0xc02b, 0xc02f, 0x00ff])), // cipher_suites: GREASE, 2×TLS 1.3, 2×ECDHE, SCSV
    vec8(0x00), // legacy_compression_methods: null
    vec16(
      // extensions
      ext(0x1a1a), // GREASE extension, empty
      ext(0x0000, vec16(0x00, vec16(ascii(sni)))), // server_name: list of one host_name (type 0)
      ext(0x000a, vec16(u16s([0x2a2a, 0x001d, 0x0017]))), // supported_groups: GREASE, x25519, secp256r1
      ext(0x000b, vec8(0x00)), // ec_point_formats: uncompressed
      ext(0x000d, vec16(u16s([0x0403, 0x0804]))), // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256
      ext(0x0010, vec16(vec8(ascii("h2")), vec8(ascii("http/1.1")))), // ALPN: "h2", "http/1.1"
      ext(0x002b, vec8(u16s([0x3a3a, 0x0304, 0x0303]))), // supported_versions: GREASE, TLS 1.3, TLS 1.2
      ext(0x0033, vec16(u16(0x001d), vec16(new Array(32).fill(0x33)))), // key_share: x25519, 32-byte key
    ),
  );
}

/** The JA3 string of clientHelloBody() by the JA3 definition: GREASE out, decimal, "-" joined. */
const CH_JA3 = "771,4865-4866-49195-49199-255,0-10-11-13-16-43-51,29-23,0";

/** ServerHello selecting TLS 1.3 (RFC 8446 §4.1.3) with TLS_AES_128_GCM_SHA256 and x25519. */
function serverHello13Body(randomFill = 0x44): Uint8Array {
  return bytes(
    u16(0x0303), // legacy_version: TLS 1.2
    random32(randomFill), // random
    vec8(new Array(32).fill(0x22)), // legacy_session_id_echo
    u16(0x1301), // cipher_suite: TLS_AES_128_GCM_SHA256
    0x00, // legacy_compression_method
    vec16(
      ext(0x002b, u16(0x0304)), // supported_versions: selected_version TLS 1.3
      ext(0x0033, u16(0x001d), vec16(new Array(32).fill(0x55))), // key_share: server_share x25519
    ),
  );
}

/** TLS 1.2 ServerHello: ECDHE-RSA-AES128-GCM-SHA256, renegotiation_info, ALPN h2, ec_point_formats. */
function serverHello12Body(): Uint8Array {
  return bytes(
    u16(0x0303), // server_version: TLS 1.2
    random32(0x66), // random
    vec8(), // session_id: empty
    u16(0xc02f), // cipher_suite: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0x00, // compression_method: null
    vec16(
      ext(0xff01, vec8()), // renegotiation_info: empty renegotiated_connection
      ext(0x0010, vec16(vec8(ascii("h2")))), // ALPN: selected "h2"
      ext(0x000b, vec8(0x00)), // ec_point_formats: uncompressed
    ),
  );
}

function newFacts(): ConversationFacts {
  return emptyFacts();
}

function analyze(client: Uint8Array, server: Uint8Array, cs?: number, ss?: number): ConversationFacts {
  const out = newFacts();
  analyzeTls(client, server, out, cs, ss);
  return out;
}

const cert = makeTestCertificate();

/** TLS 1.2 server flight: ServerHello, Certificate (2 certs), ServerKeyExchange, ServerHelloDone in one record; CCS; encrypted Finished. */
function tls12ServerFlight(): Uint8Array {
  const flight = bytes(
    handshake(HT.serverHello, serverHello12Body()),
    handshake(HT.certificate, vec24(vec24(cert), vec24(cert))), // certificate_list: leaf + one more
    handshake(HT.serverKeyExchange, bytes(new Array(40).fill(0x77))), // opaque to us
    handshake(HT.serverHelloDone, bytes()), // empty body
  );
  return bytes(
    record(CT.handshake, 0x0303, flight),
    ccs(),
    record(CT.handshake, 0x0303, bytes(0x01, 0x00, 0x00, 0x24, new Array(36).fill(0x99))), // encrypted Finished: looks like a ClientHello header by chance
  );
}

/** TLS 1.2 client: ClientHello, ClientKeyExchange, CCS, encrypted Finished, encrypted alert. */
function tls12ClientFlight(): Uint8Array {
  return bytes(
    record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())),
    record(CT.handshake, 0x0303, handshake(HT.clientKeyExchange, vec8(new Array(32).fill(0x88)))),
    ccs(),
    record(CT.handshake, 0x0303, bytes(new Array(40).fill(0x01))), // encrypted Finished
    record(CT.alert, 0x0303, bytes(new Array(26).fill(0x02))), // encrypted alert: reported as encrypted, never read
  );
}

// ---------------------------------------------------------------------------------------------

describe("names", () => {
  it("spells versions as the report contract does", () => {
    expect(tlsVersionName(0x0002)).toBe("SSL 2.0");
    expect(tlsVersionName(0x0300)).toBe("SSL 3.0");
    expect(tlsVersionName(0x0301)).toBe("TLS 1.0");
    expect(tlsVersionName(0x0302)).toBe("TLS 1.1");
    expect(tlsVersionName(0x0303)).toBe("TLS 1.2");
    expect(tlsVersionName(0x0304)).toBe("TLS 1.3");
    expect(tlsVersionName(0x7f17)).toBe("TLS 1.3 (draft 23)");
    expect(tlsVersionName(0x7f1c)).toBe("TLS 1.3 (draft 28)");
    expect(tlsVersionName(0x1a1a)).toBe("0x1a1a");
    expect(tlsVersionName(0x0305)).toBe("0x0305");
  });

  it("names cipher suites by their IANA names, hex otherwise", () => {
    expect(cipherName(0x1301)).toBe("TLS_AES_128_GCM_SHA256");
    expect(cipherName(0x1303)).toBe("TLS_CHACHA20_POLY1305_SHA256");
    expect(cipherName(0xc02f)).toBe("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    expect(cipherName(0x00ff)).toBe("TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    expect(cipherName(0x5600)).toBe("TLS_FALLBACK_SCSV");
    expect(cipherName(0x1306)).toBe("TLS_AEGIS_256_SHA384"); // IANA, missing from Wireshark 4.0
    expect(cipherName(0xcc13)).toBe("0xcc13"); // pre-RFC 7905 ChaCha20, never IANA-assigned
    expect(cipherName(0x0a0a)).toBe("0x0a0a"); // GREASE
    expect(cipherName(0x1234)).toBe("0x1234");
  });

  it("names alerts by their RFC identifiers", () => {
    expect(alertDescriptionName(0)).toBe("close_notify");
    expect(alertDescriptionName(40)).toBe("handshake_failure");
    expect(alertDescriptionName(48)).toBe("unknown_ca");
    expect(alertDescriptionName(70)).toBe("protocol_version");
    expect(alertDescriptionName(112)).toBe("unrecognized_name");
    expect(alertDescriptionName(120)).toBe("no_application_protocol");
    expect(alertDescriptionName(200)).toBe("0xc8");
  });
});

describe("ClientHello", () => {
  it("parses every field it reads", () => {
    const anomalies: Anomaly[] = [];
    const h = parseClientHello(clientHelloBody(), anomalies)!;
    expect(anomalies).toEqual([]);
    expect(h.legacyVersion).toBe(0x0303);
    expect(h.sessionIdLength).toBe(32);
    expect(h.ciphers).toEqual([0x0a0a, 0x1301, 0x1302, 0xc02b, 0xc02f, 0x00ff]);
    expect(h.compressionMethods).toEqual([0]);
    expect(h.extensions).toEqual([0x1a1a, 0x0000, 0x000a, 0x000b, 0x000d, 0x0010, 0x002b, 0x0033]);
    expect(h.serverName).toBe("example.com");
    expect(h.supportedGroups).toEqual([0x2a2a, 0x001d, 0x0017]);
    expect(h.ecPointFormats).toEqual([0]);
    expect(h.signatureAlgorithms).toEqual([0x0403, 0x0804]);
    expect(h.alpn.map((p) => Buffer.from(p).toString())).toEqual(["h2", "http/1.1"]);
    expect(h.supportedVersions).toEqual([0x3a3a, 0x0304, 0x0303]);
    expect(h.keyShareGroups).toEqual([0x001d]);
  });

  it("accepts an SSL 3.0 / early TLS hello without an extensions block (RFC 5246 §7.4.1.2)", () => {
    const body = bytes(
      u16(0x0300), // client_version: SSL 3.0
      random32(), // random
      vec8(), // session_id: empty
      vec16(u16s([0x000a, 0x0005])), // cipher_suites: RSA 3DES, RSA RC4-SHA
      vec8(0x00), // compression_methods: null
    );
    const h = parseClientHello(body)!;
    expect(h.extensions).toEqual([]);
    const server = record(
      CT.handshake,
      0x0300,
      handshake(HT.serverHello, bytes(u16(0x0300), random32(), vec8(), u16(0x000a), 0x00)), // SSL 3.0 ServerHello, no extensions
    );
    const out = analyze(record(CT.handshake, 0x0300, handshake(HT.clientHello, body)), server);
    expect(out.tls!.clientVersion).toBe("SSL 3.0");
    expect(out.tls!.version).toBe("SSL 3.0");
    expect(out.tls!.cipher).toBe("TLS_RSA_WITH_3DES_EDE_CBC_SHA");
    expect(out.tls!.ja3).toBe(md5("768,10-5,,,"));
    expect(out.tls!.ja3s).toBe(md5("768,10,"));
    expect(out.anomalies).toEqual([]);
  });

  it("names malformed extensions and keeps going", () => {
    const body = bytes(
      u16(0x0303), random32(), vec8(), vec16(u16s([0x1301])), vec8(0),
      vec16(
        ext(0x000a, u16(5), u16s([0x001d, 0x0017])), // supported_groups: inner length 5 is odd and wrong
        ext(0x0000, vec16(0x00, vec16(ascii("ok.example")))), // server_name still read
        ext(0x0000, vec16(0x00, vec16(ascii("dup.example")))), // server_name again: duplicate
      ),
    );
    const anomalies: Anomaly[] = [];
    const h = parseClientHello(body, anomalies)!;
    expect(h.serverName).toBe("ok.example");
    expect(anomalies.map((a) => a.name)).toEqual(["tls_bad_extension_length", "tls_duplicate_extension"]);
  });

  it("reports an extensions block that runs past the message, and trailing bytes", () => {
    const base = bytes(u16(0x0303), random32(), vec8(), vec16(u16s([0x1301])), vec8(0));
    const a1: Anomaly[] = [];
    parseClientHello(bytes(base, u16(100), ext(0x0017)), a1); // extensions length 100, 4 bytes follow
    expect(a1.map((a) => a.name)).toContain("tls_bad_extensions_length");
    const a2: Anomaly[] = [];
    parseClientHello(bytes(base, vec16(ext(0x0017)), 0xde, 0xad), a2); // 2 bytes after the block
    expect(a2.map((a) => a.name)).toEqual(["tls_trailing_bytes"]);
  });

  it("escapes a non-ASCII host name and names it", () => {
    const body = bytes(u16(0x0303), random32(), vec8(), vec16(u16s([0x1301])), vec8(0), vec16(ext(0x0000, vec16(0x00, vec16(0x61, 0x0a, 0xff)))));
    const anomalies: Anomaly[] = [];
    expect(parseClientHello(body, anomalies)!.serverName).toBe("a\\x0a\\xff");
    expect(anomalies.map((a) => a.name)).toEqual(["tls_bad_sni"]);
  });
});

describe("analyzeTls", () => {
  it("reads a TLS 1.3 handshake: versions, SNI, ALPN, cipher, JA3, JA3S, JA4", () => {
    const client = bytes(
      record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())),
      ccs(), // middlebox-compatibility CCS (RFC 8446 §D.4)
      record(CT.appData, 0x0303, bytes(new Array(50).fill(0xab))), // encrypted Finished
    );
    const server = bytes(
      record(CT.handshake, 0x0303, handshake(HT.serverHello, serverHello13Body())),
      ccs(),
      record(CT.appData, 0x0303, bytes(new Array(300).fill(0xcd))), // encrypted EncryptedExtensions…Finished
    );
    const out = newFacts();
    expect(analyzeTls(client, server, out)).toBe(true);
    const t = out.tls!;
    expect(t.clientHelloSeen).toBe(true);
    expect(t.serverHelloSeen).toBe(true);
    expect(t.clientVersion).toBe("TLS 1.3");
    expect(t.version).toBe("TLS 1.3");
    expect(t.sni).toBe("example.com");
    expect(t.alpn).toEqual(["h2", "http/1.1"]);
    expect(t.alpnSelected).toBeNull(); // in TLS 1.3 it travels in EncryptedExtensions
    expect(t.cipher).toBe("TLS_AES_128_GCM_SHA256");
    expect(t.ja3).toBe(md5(CH_JA3));
    expect(t.ja3s).toBe(md5("771,4865,43-51"));
    // JA4 by its definition: t, 13, d (SNI), 05 ciphers, 07 extensions (GREASE out), h2;
    // sorted ciphers; sorted extensions without SNI/ALPN, then signature algorithms in order.
    expect(t.ja4).toBe(`t13d0507h2_${sha12("00ff,1301,1302,c02b,c02f")}_${sha12("000a,000b,000d,002b,0033_0403,0804")}`);
    expect(t.certificate).toBeNull();
    expect(t.helloRetryRequest).toBe(false);
    expect(t.alerts).toEqual([]);
    expect(out.anomalies).toEqual([]);
  });

  it("reads a TLS 1.2 handshake with the certificate in clear and stops at ChangeCipherSpec", () => {
    const out = analyze(tls12ClientFlight(), tls12ServerFlight());
    const t = out.tls!;
    expect(t.version).toBe("TLS 1.2");
    expect(t.clientVersion).toBe("TLS 1.3");
    expect(t.cipher).toBe("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    expect(t.alpnSelected).toBe("h2");
    expect(t.ja3s).toBe(md5("771,49199,65281-16-11"));
    expect(t.certificate).toEqual({
      subject: "C=US, O=Example Org, CN=test.example",
      issuer: "C=US, O=Example Org, CN=test.example",
      notBefore: "2024-01-02T03:04:05.000Z",
      notAfter: "2051-01-01T00:00:00.000Z",
      san: ["test.example", "www.test.example", "192.0.2.1", "2001:db8::1"],
      chainLength: 2,
    });
    // The encrypted Finished after CCS is not read as a second ClientHello, and the encrypted
    // alert is reported as encrypted, never with a description read from its ciphertext.
    const hs = parseTlsHandshake(tls12ClientFlight(), tls12ServerFlight(), []);
    expect(hs.clientHellos).toHaveLength(1);
    expect(t.alerts).toEqual([{ from: "client", level: "encrypted", description: "encrypted_alert" }]);
    expect(out.anomalies).toEqual([]);
  });

  it("reassembles a ClientHello spread over several records (and several messages in one record)", () => {
    const msg = handshake(HT.clientHello, clientHelloBody());
    for (const max of [1, 7, 64, msg.length - 1]) {
      const out = analyze(records(CT.handshake, 0x0301, msg, max), tls12ServerFlight());
      expect(out.tls!.ja3, `fragment size ${max}`).toBe(md5(CH_JA3));
      expect(out.tls!.sni).toBe("example.com");
      expect(out.anomalies).toEqual([]);
    }
    // The server flight split into 5-byte fragments: ServerHello and Certificate still read.
    const flight = bytes(handshake(HT.serverHello, serverHello12Body()), handshake(HT.certificate, vec24(vec24(cert))), handshake(HT.serverHelloDone, bytes()));
    const out = analyze(record(CT.handshake, 0x0301, msg), records(CT.handshake, 0x0303, flight, 5));
    expect(out.tls!.cipher).toBe("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    expect(out.tls!.certificate!.chainLength).toBe(1);
  });

  it("follows a HelloRetryRequest: first ClientHello for client facts, last ServerHello for server facts", () => {
    const hrrBody = bytes(
      u16(0x0303), // legacy_version
      hrrRandom(), // random = SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3)
      vec8(new Array(32).fill(0x22)), // legacy_session_id_echo
      u16(0x1302), // cipher_suite: TLS_AES_256_GCM_SHA384
      0x00, // legacy_compression_method
      vec16(
        ext(0x002b, u16(0x0304)), // supported_versions: TLS 1.3
        ext(0x0033, u16(0x0017)), // key_share: selected_group secp256r1
      ),
    );
    const realSh = bytes(
      u16(0x0303), random32(0x45), vec8(new Array(32).fill(0x22)), u16(0x1302), 0x00,
      vec16(ext(0x002b, u16(0x0304)), ext(0x0033, u16(0x0017), vec16(new Array(65).fill(0x04)))), // key_share: secp256r1 point
    );
    const ch2 = bytes(
      u16(0x0303), random32(0x11), vec8(new Array(32).fill(0x22)),
      vec16(u16s([0x1302])), // only the suite the HRR chose
      vec8(0x00),
      vec16(
        ext(0x0000, vec16(0x00, vec16(ascii("second.example")))), // a different SNI: must not be reported
        ext(0x002b, vec8(u16s([0x0304]))),
        ext(0x0033, vec16(u16(0x0017), vec16(new Array(65).fill(0x04)))),
      ),
    );
    const client = bytes(
      record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())),
      ccs(),
      record(CT.handshake, 0x0303, handshake(HT.clientHello, ch2)),
      record(CT.appData, 0x0303, bytes(new Array(40).fill(0xee))),
    );
    const server = bytes(
      record(CT.handshake, 0x0303, handshake(HT.serverHello, hrrBody)),
      ccs(),
      record(CT.handshake, 0x0303, handshake(HT.serverHello, realSh)),
      record(CT.appData, 0x0303, bytes(new Array(100).fill(0xcd))),
    );
    const out = analyze(client, server);
    const t = out.tls!;
    expect(t.helloRetryRequest).toBe(true);
    expect(t.sni).toBe("example.com");
    expect(t.ja3).toBe(md5(CH_JA3));
    expect(t.version).toBe("TLS 1.3");
    expect(t.cipher).toBe("TLS_AES_256_GCM_SHA384");
    expect(t.ja3s).toBe(md5("771,4866,43-51"));
    expect(out.anomalies).toEqual([]);
    const hs = parseTlsHandshake(client, server, []);
    expect(hs.clientHellos.map((h) => h.serverName)).toEqual(["example.com", "second.example"]);
    expect(hs.serverHellos.map((h) => h.helloRetryRequest)).toEqual([true, false]);
    expect(hs.serverHellos[0].keyShareGroup).toBe(0x0017);

    // Only the client side captured: CCS then a cleartext ClientHello still means a second hello.
    const oneSided = parseTlsHandshake(client, new Uint8Array(0), []);
    expect(oneSided.clientHellos.map((h) => h.serverName)).toEqual(["example.com", "second.example"]);
  });

  it("reads TLS 1.3 draft 23 from supported_versions", () => {
    const sh = bytes(u16(0x0303), random32(), vec8(), u16(0x1301), 0x00, vec16(ext(0x002b, u16(0x7f17)))); // selected_version 0x7f17
    const ch = bytes(u16(0x0303), random32(), vec8(), vec16(u16s([0x1301])), vec8(0), vec16(ext(0x002b, vec8(u16s([0x7f17, 0x0303])))));
    const out = analyze(record(CT.handshake, 0x0301, handshake(HT.clientHello, ch)), record(CT.handshake, 0x0303, handshake(HT.serverHello, sh)));
    expect(out.tls!.version).toBe("TLS 1.3 (draft 23)");
    expect(out.tls!.clientVersion).toBe("TLS 1.3 (draft 23)");
    expect(out.anomalies).toEqual([]);
  });

  it("reports cleartext alerts, with or without a ServerHello", () => {
    const client = record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody()));
    const out = newFacts();
    expect(analyzeTls(client, alert(2, 40), out)).toBe(true);
    expect(out.tls!.serverHelloSeen).toBe(false);
    expect(out.tls!.version).toBeNull();
    expect(out.tls!.alerts).toEqual([{ from: "server", level: "fatal", description: "handshake_failure" }]);
    // A client alert (bad certificate) before its CCS, after a TLS 1.2 server flight.
    const c2 = bytes(client, alert(2, 42));
    const out2 = analyze(c2, tls12ServerFlight());
    expect(out2.tls!.alerts).toEqual([{ from: "client", level: "fatal", description: "bad_certificate" }]);
  });

  it("flags a version or cipher the client did not offer", () => {
    const ch = bytes(u16(0x0303), random32(), vec8(), vec16(u16s([0xc02f])), vec8(0)); // TLS 1.2 only, one suite
    const sh = bytes(u16(0x0303), random32(), vec8(), u16(0x1301), 0x00, vec16(ext(0x002b, u16(0x0304))));
    const out = analyze(record(CT.handshake, 0x0301, handshake(HT.clientHello, ch)), record(CT.handshake, 0x0303, handshake(HT.serverHello, sh)));
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_version_not_offered", "tls_cipher_not_offered"]);
  });

  it("reads the handshake from given offsets (TLS after a banner)", () => {
    const banner = ascii("220 VMware Authentication Daemon Version 1.10: SSL Required\r\n");
    const client = bytes(record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())));
    const server = bytes(banner, record(CT.handshake, 0x0303, handshake(HT.serverHello, serverHello13Body())));
    const out = analyze(client, server, 0, banner.length);
    expect(out.tls!.version).toBe("TLS 1.3");
    expect(out.anomalies).toEqual([]);
    expect(findTlsStart(server, 0, "server")).toBe(banner.length);
    expect(findTlsStart(bytes(ascii("STARTTLS\r\n"), client), 0, "client")).toBe(10);
    expect(findTlsStart(bytes(banner), 0, "server")).toBe(-1);
  });
});

describe("SSL 2.0", () => {
  /** SSL 2.0 CLIENT-HELLO record (§2.5) with the given CLIENT-VERSION. */
  function v2ClientHello(version: number): Uint8Array {
    const specs = [0x07, 0x00, 0xc0, 0x05, 0x00, 0x80, 0x00, 0x00, 0x39]; // SSL_CK_DES_192_EDE3_CBC_WITH_MD5, SSL_CK_RC4_128_WITH_MD5, TLS 0x0039
    const challenge = new Array(16).fill(0x5a);
    const body = bytes(
      0x01, // MSG-CLIENT-HELLO
      u16(version), // CLIENT-VERSION
      u16(specs.length), // CIPHER-SPECS-LENGTH
      u16(0), // SESSION-ID-LENGTH
      u16(challenge.length), // CHALLENGE-LENGTH
      specs, // CIPHER-SPECS
      challenge, // CHALLENGE
    );
    return bytes(0x80 | (body.length >> 8), body.length & 0xff, body); // 2-byte header, high bit set
  }

  it("reads a pure SSL 2.0 exchange, certificate included", () => {
    const body = bytes(
      0x04, // MSG-SERVER-HELLO
      0x00, // SESSION-ID-HIT: no
      0x01, // CERTIFICATE-TYPE: X.509
      u16(0x0002), // SERVER-VERSION
      u16(cert.length), // CERTIFICATE-LENGTH
      u16(3), // CIPHER-SPECS-LENGTH
      u16(16), // CONNECTION-ID-LENGTH
      cert, // CERTIFICATE-DATA
      [0x01, 0x00, 0x80], // CIPHER-SPECS: SSL_CK_RC4_128_WITH_MD5
      new Array(16).fill(0x6b), // CONNECTION-ID
    );
    const server = bytes(0x80 | (body.length >> 8), body.length & 0xff, body);
    const client = v2ClientHello(0x0002);
    expect(probeTlsClient(client, 0)).toBe("match");
    expect(probeTlsServer(server, 0)).toBe("match");
    const out = analyze(client, server);
    const t = out.tls!;
    expect(t.clientVersion).toBe("SSL 2.0");
    expect(t.version).toBe("SSL 2.0");
    expect(t.cipher).toBeNull();
    expect(t.ja3).toBeNull(); // tshark 4.0 computes no JA3 for SSL 2.0 hellos
    expect(t.ja3s).toBeNull();
    expect(t.ja4).toBeNull();
    expect(t.certificate!.subject).toBe("C=US, O=Example Org, CN=test.example");
    expect(t.certificate!.chainLength).toBe(1);
    expect(out.anomalies).toEqual([]);
    const hs = parseTlsHandshake(client, server, []);
    expect(hs.clientHellos[0].ciphers).toEqual([0x0700c0, 0x050080, 0x000039]);
  });

  it("reads the SSLv2-compatible hello offering TLS 1.0, then TLS records", () => {
    const client = bytes(
      v2ClientHello(0x0301),
      record(CT.handshake, 0x0301, handshake(HT.clientKeyExchange, vec16(new Array(64).fill(0x31)))),
      ccs(0x0301),
    );
    const sh = bytes(u16(0x0301), random32(), vec8(), u16(0x0039), 0x00); // TLS 1.0, DHE-RSA-AES256-SHA, no extensions
    const server = bytes(record(CT.handshake, 0x0301, bytes(handshake(HT.serverHello, sh), handshake(HT.certificate, vec24(vec24(cert))), handshake(HT.serverHelloDone, bytes()))));
    const out = analyze(client, server);
    const t = out.tls!;
    expect(t.clientVersion).toBe("TLS 1.0");
    expect(t.version).toBe("TLS 1.0");
    expect(t.cipher).toBe("TLS_DHE_RSA_WITH_AES_256_CBC_SHA");
    expect(t.ja3).toBeNull();
    expect(t.ja3s).toBe(md5("769,57,"));
    expect(t.certificate!.chainLength).toBe(1);
    expect(out.anomalies).toEqual([]);
  });
});

describe("certificates", () => {
  it("turns a broken DER into an anomaly, never an exception", () => {
    const anomalies: Anomaly[] = [];
    expect(certificateFacts(bytes(0x30, 0x03, 0x02, 0x01, 0x00), 1, anomalies)).toBeNull();
    expect(anomalies.map((a) => a.name)).toEqual(["tls_certificate_unparseable"]);
    const flight = bytes(handshake(HT.serverHello, serverHello12Body()), handshake(HT.certificate, vec24(vec24(0x30, 0x84, 0xff, 0xff, 0xff, 0xfa))));
    const out = analyze(record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())), record(CT.handshake, 0x0303, flight));
    expect(out.tls!.certificate).toBeNull();
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_certificate_unparseable"]);
  });

  it("reads the leaf of a Certificate cut by the end of the capture", () => {
    const flight = bytes(handshake(HT.serverHello, serverHello12Body()), handshake(HT.certificate, vec24(vec24(cert), vec24(cert))));
    const cut = record(CT.handshake, 0x0303, flight).subarray(0, 5 + flight.length - cert.length / 2);
    const out = analyze(record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())), cut);
    expect(out.tls!.certificate!.subject).toBe("C=US, O=Example Org, CN=test.example");
    expect(out.tls!.certificate!.chainLength).toBe(1); // the second certificate was not captured whole
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_handshake_truncated"]);
  });

  it("gives each conversation its own facts when the same certificate repeats", () => {
    const flight = (n: number) => record(CT.handshake, 0x0303, bytes(handshake(HT.serverHello, serverHello12Body()), handshake(HT.certificate, vec24(...new Array(n).fill(vec24(cert))))));
    const a = analyze(new Uint8Array(0), flight(3)).tls!.certificate!;
    const b = analyze(new Uint8Array(0), flight(1)).tls!.certificate!;
    expect([a.chainLength, b.chainLength]).toEqual([3, 1]);
    a.san.push("changed");
    expect(analyze(new Uint8Array(0), flight(1)).tls!.certificate!.san).toHaveLength(4);
  });

  it("names an empty certificate list and a list length that does not match", () => {
    const out = analyze(new Uint8Array(0), record(CT.handshake, 0x0303, bytes(handshake(HT.serverHello, serverHello12Body()), handshake(HT.certificate, vec24()))));
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_empty_certificate_chain"]);
    const out2 = analyze(new Uint8Array(0), record(CT.handshake, 0x0303, bytes(handshake(HT.serverHello, serverHello12Body()), handshake(HT.certificate, bytes(u24(5), vec24(cert))))));
    expect(out2.anomalies.map((a) => a.name)).toContain("tls_bad_certificate_message");
  });
});

describe("record layer limits", () => {
  it("names a record longer than 2^14 + 2048 and stops reading that side", () => {
    const client = bytes(record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody())));
    const server = bytes(CT.handshake, u16(0x0303), u16(0xffff), new Array(100).fill(0)); // length 65535
    const out = analyze(client, server);
    expect(out.anomalies.map((a) => [a.name, a.direction, a.offset])).toEqual([["tls_record_too_long", "server", 0]]);
    expect(out.tls!.clientHelloSeen).toBe(true);
  });

  it("names a handshake message declaring 2^24 - 1 bytes, without waiting for them", () => {
    const server = record(CT.handshake, 0x0303, bytes(HT.certificate, u24(0xffffff), new Array(1000).fill(0))); // uint24 max
    const out = analyze(new Uint8Array(0), server);
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_handshake_too_long"]);
  });

  it("handles a ClientHello with 10,000 extensions fast and bounded", () => {
    const exts: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) exts.push(ext(0x1000 + i)); // distinct unknown types, empty data
    exts.push(ext(0x1000)); // one repeat
    const body = bytes(u16(0x0303), random32(), vec8(), vec16(u16s([0x1301])), vec8(0), vec16(...exts));
    const client = records(CT.handshake, 0x0303, handshake(HT.clientHello, body), 16384);
    const out = newFacts();
    analyzeTls(client, new Uint8Array(0), out);
    expect(out.tls!.ja4).toMatch(/^t12i0199/); // extension count capped at 99 (JA4 "Number of Extensions")
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_duplicate_extension"]);
    const hs = parseTlsHandshake(client, new Uint8Array(0), []);
    expect(hs.clientHellos[0].extensions).toHaveLength(10_001);
  });

  it("names bad record types and versions, empty records and interleaving", () => {
    expect(analyze(bytes(0x47, 0x45, 0x54, 0x20, 0x2f, 0x20), new Uint8Array(0)).anomalies.map((a) => a.name)).toEqual(["tls_bad_record_type"]);
    expect(analyze(bytes(CT.handshake, 0x02, 0x00, 0x00, 0x04, 1, 0, 0, 0), new Uint8Array(0)).anomalies.map((a) => a.name)).toEqual(["tls_bad_record_version"]);
    const msg = handshake(HT.clientHello, clientHelloBody());
    const interleaved = bytes(record(CT.handshake, 0x0301, msg.subarray(0, 20)), alert(1, 0), record(CT.handshake, 0x0301, msg.subarray(20)));
    const out = analyze(interleaved, new Uint8Array(0));
    expect(out.anomalies.map((a) => a.name)).toEqual(["tls_handshake_interleaved"]);
    expect(out.tls!.sni).toBe("example.com");
    const empty = analyze(bytes(record(CT.handshake, 0x0301, bytes()), record(CT.handshake, 0x0301, msg)), new Uint8Array(0));
    expect(empty.anomalies.map((a) => a.name)).toEqual(["tls_empty_record"]);
  });
});

describe("robustness", () => {
  const fullClient = tls12ClientFlight();
  const fullServer = tls12ServerFlight();

  it("never throws on a handshake cut at every byte, and says when a hello is cut", () => {
    for (let i = 0; i <= fullClient.length; i++) {
      const out = newFacts();
      const found = analyzeTls(fullClient.subarray(0, i), fullServer, out);
      expect(found).toBe(true); // the server's ServerHello is always there
      for (const a of out.anomalies) expect(a.name).toMatch(/^tls_[a-z0-9_]+$/);
      const chEnd = 5 + 4 + clientHelloBody().length;
      if (i < chEnd) expect(out.tls!.clientHelloSeen).toBe(false);
      if (i >= 6 && i < chEnd) expect(out.anomalies.map((a) => a.name)).toEqual(["tls_handshake_truncated"]);
    }
    for (let i = 0; i <= fullServer.length; i++) {
      const out = newFacts();
      analyzeTls(fullClient, fullServer.subarray(0, i), out);
      for (const a of out.anomalies) expect(a.name).toMatch(/^tls_[a-z0-9_]+$/);
    }
  });

  it("never throws on random bytes or on randomly damaged handshakes (seeded)", async () => {
    const { prng } = await import("./tls-bytes.js");
    const rnd = prng(0x7e5);
    const both = [fullClient, fullServer];
    for (let n = 0; n < 3000; n++) {
      let c: Uint8Array;
      let s: Uint8Array;
      if (n % 2 === 0) {
        const len = Math.floor(rnd() * 600);
        c = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
        // Half of the random inputs start like a handshake record so the parser gets past the header.
        if (n % 4 === 0 && len > 6) c.set([CT.handshake, 3, 1], 0);
        s = Uint8Array.from({ length: Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256));
      } else {
        [c, s] = both.map((x) => {
          const y = Uint8Array.from(x);
          const flips = 1 + Math.floor(rnd() * 8);
          for (let k = 0; k < flips; k++) y[Math.floor(rnd() * y.length)] = Math.floor(rnd() * 256);
          return y;
        });
      }
      const out = newFacts();
      expect(() => analyzeTls(c, s, out)).not.toThrow();
      expect(out.anomalies.every((a) => /^tls_[a-z0-9_]+$/.test(a.name) && a.name !== "tls_internal_error")).toBe(true);
      expect(out.anomalies.length).toBeLessThanOrEqual(32);
      expect(["match", "more", "no"]).toContain(probeTlsClient(c, 0));
      expect(["match", "more", "no"]).toContain(probeTlsServer(s, 0));
    }
  });

  it("tolerates odd start offsets", () => {
    const out = newFacts();
    expect(analyzeTls(fullClient, fullServer, out, -5, Number.NaN)).toBe(true);
    expect(analyzeTls(fullClient, fullServer, newFacts(), 1e9, 1e9)).toBe(false);
  });
});

describe("probes", () => {
  const ch = record(CT.handshake, 0x0301, handshake(HT.clientHello, clientHelloBody()));
  const sh = record(CT.handshake, 0x0303, handshake(HT.serverHello, serverHello13Body()));

  it("asks for more until the ClientHello header is decisive, then matches", () => {
    for (let i = 0; i < 10; i++) expect(probeTlsClient(ch.subarray(0, i), 0), `after ${i} bytes`).toBe("more");
    expect(probeTlsClient(ch.subarray(0, 10), 0)).toBe("match");
    expect(probeTlsClient(bytes(ascii("xx"), ch), 2)).toBe("match");
  });

  it("says no to other protocols and to server flights", () => {
    expect(probeTlsClient(bytes(ascii("GET / HTTP/1.1\r\n")), 0)).toBe("no");
    expect(probeTlsClient(bytes(ascii("SSH-2.0-OpenSSH_9.6\r\n")), 0)).toBe("no");
    expect(probeTlsClient(bytes(0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0), 0)).toBe("no"); // TPKT / X.224 CR
    expect(probeTlsClient(sh, 0)).toBe("no");
    expect(probeTlsClient(bytes(CT.handshake, 3, 1, u16(0x5000)), 0)).toBe("no"); // record length 20480 > 18432
  });

  it("recognises a server flight: ServerHello or alert", () => {
    expect(probeTlsServer(sh, 0)).toBe("match");
    expect(probeTlsServer(alert(2, 40), 0)).toBe("match");
    expect(probeTlsServer(ch, 0)).toBe("no");
    expect(probeTlsServer(bytes(ascii("220 mail.example ESMTP\r\n")), 0)).toBe("no");
    expect(probeTlsServer(sh.subarray(0, 4), 0)).toBe("more");
  });

  it("declares the detector as the contract says, and probes a sample", () => {
    expect(tlsDetector.protocol).toBe("tls");
    expect(tlsDetector.transports).toEqual(["tcp"]);
    expect(tlsDetector.ports).toEqual([443, 3542, 3545, 8443, 993, 995, 465, 636, 990, 5061]);
    expect(tlsDetector.byContent).toBe(true);
    const sample = (client: Uint8Array, server: Uint8Array, extra: Partial<StreamSample> = {}): StreamSample => ({
      transport: "tcp", clientPort: 50000, serverPort: 443, client, server, clientDone: false, serverDone: false,
      clientGap: false, serverGap: false, clientStartMissing: false, serverStartMissing: false, firstSpeaker: "client", datagrams: [], ...extra,
    });
    expect(tlsDetector.probe(sample(ch, sh))).toBe("match");
    expect(tlsDetector.probe(sample(ch.subarray(0, 3), new Uint8Array(0)))).toBe("more");
    expect(tlsDetector.probe(sample(ch.subarray(0, 3), new Uint8Array(0), { clientDone: true }))).toBe("no");
    expect(tlsDetector.probe(sample(bytes(ascii("GET / HTTP/1.1\r\n")), new Uint8Array(0)))).toBe("no");
    // Capture started after the ClientHello: the ServerHello decides.
    expect(tlsDetector.probe(sample(new Uint8Array(0), sh, { clientGap: true, firstSpeaker: "server" }))).toBe("match");
    const out = newFacts();
    tlsDetector.analyze(sample(ch, sh), out);
    expect(out.tls!.version).toBe("TLS 1.3");
  });
});
