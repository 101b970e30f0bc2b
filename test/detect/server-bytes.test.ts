/**
 * Issue 18 / issue 11 detection principles, on byte-built samples (a comment per field in
 * test/detect/fixtures.ts and test/detect/tls-bytes.ts):
 *  - the server's bytes count as much as the client's (registry.ts serverDisagrees);
 *  - bytes we cannot classify are never plaintext; one well-formed TLS record header per side is TLS;
 *  - an encrypted alert record is never read as a plaintext alert.
 */
import { describe, expect, it } from "vitest";
import { detect } from "../../src/detect/registry.js";
import { ENCRYPTED_ALERT } from "../../src/detect/tls/index.js";
import { authdBanner, clientHello, httpRequest, rdpRequest, serverHello, sshClient, sshServer } from "./fixtures.js";
import { bytes, randomBytes, rng, tcp } from "./sample.js";

/** `n` seeded random bytes: what ciphertext looks like (not text, no TLS header, by chance). */
const cipher = (n: number, seed = 7): Uint8Array => randomBytes(rng(seed), n);
import { alert, ccs, CT, record } from "./tls-bytes.js";

/** An encrypted alert record as TLS 1.2 AES-GCM sends it: 8-byte explicit nonce, 2 encrypted bytes, 16-byte tag = 26. */
const gcmAlert = record(CT.alert, 0x0303, cipher(26, 3));

describe("the server's bytes count as much as the client's", () => {
  it("a ClientHello answered by a plaintext banner: protocol plaintext, clientProtocol tls, the banner, the ClientHello's SNI kept", () => {
    const f = detect(tcp(clientHello("vcenter.example"), bytes("220 mail.example ESMTP Postfix\r\n"), { serverPort: 3542 }));
    expect(f.protocol).toBe("plaintext");
    expect(f.clientProtocol).toBe("tls");
    expect(f.banner).toBe("220 mail.example ESMTP Postfix");
    expect(f.tls?.clientHelloSeen).toBe(true);
    expect(f.tls?.serverHelloSeen).toBe(false);
    expect(f.tls?.sni).toBe("vcenter.example");
  });

  it("a ClientHello answered by an HTTP 400: protocol http with the server's status", () => {
    const f = detect(tcp(clientHello("a.example"), bytes("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n"), { serverPort: 443 }));
    expect(f.protocol).toBe("http");
    expect(f.clientProtocol).toBe("tls");
    expect(f.http?.status).toBe(400);
    expect(f.http?.server).toBe("nginx");
    expect(f.banner).toBe("HTTP/1.1 400 Bad Request");
  });

  it("a ClientHello answered by binary that is not a TLS record: protocol unknown, no banner", () => {
    const f = detect(tcp(clientHello("a.example"), bytes(0x00, 0x00, 0x00, 0x2c, 0x01, 0x02, cipher(40)), { serverPort: 443 }));
    expect(f.protocol).toBe("unknown");
    expect(f.clientProtocol).toBe("tls");
    expect(f.banner).toBeNull();
  });

  it("a TLS alert answering the ClientHello stays tls, with the alert", () => {
    const f = detect(tcp(clientHello("a.example"), alert(2, 40), { serverPort: 443 }));
    expect(f.protocol).toBe("tls");
    expect(f.clientProtocol).toBeNull();
    expect(f.tls?.alerts).toEqual([{ from: "server", level: "fatal", description: "handshake_failure" }]);
  });

  it("both sides agree, or the server sent nothing: clientProtocol is null", () => {
    expect(detect(tcp(clientHello("a.example"), serverHello()))).toMatchObject({ protocol: "tls", clientProtocol: null });
    expect(detect(tcp(clientHello("a.example"), new Uint8Array(0)))).toMatchObject({ protocol: "tls", clientProtocol: null });
    expect(detect(tcp(sshClient, sshServer, { serverPort: 22 }))).toMatchObject({ protocol: "ssh", clientProtocol: null });
    expect(detect(tcp(new Uint8Array(0), authdBanner, { serverPort: 902 }))).toMatchObject({ protocol: "vmware-authd", clientProtocol: null });
  });

  it("the same rule for every detector: an SSH client answered by text, an RDP request answered by TLS, an HTTP request answered by a ServerHello", () => {
    expect(detect(tcp(sshClient, bytes("Protocol mismatch.\n"), { serverPort: 22 }))).toMatchObject({ protocol: "plaintext", clientProtocol: "ssh", banner: "Protocol mismatch." });
    expect(detect(tcp(rdpRequest, serverHello(), { serverPort: 3389 }))).toMatchObject({ protocol: "tls", clientProtocol: "rdp" });
    expect(detect(tcp(httpRequest, serverHello(), { serverPort: 80 }))).toMatchObject({ protocol: "tls", clientProtocol: "http" });
    // The rule goes one way: a protocol the server starts (SSH, authd) is what the server spoke anyway.
    expect(detect(tcp(httpRequest, sshServer, { serverPort: 80 }))).toMatchObject({ protocol: "ssh", clientProtocol: null });
  });

  it("a server whose start was not captured is not judged alone", () => {
    const f = detect(tcp(clientHello("a.example"), bytes("ing else\r\n"), { serverStartMissing: true }));
    expect(f.protocol).toBe("tls");
    expect(f.clientProtocol).toBeNull();
  });
});

describe("bytes we cannot classify are never plaintext; one well-formed record per side is TLS", () => {
  it("mid-stream: one encrypted alert from one side and nothing else is tls, the alert reported as encrypted", () => {
    const f = detect(tcp(new Uint8Array(0), gcmAlert, { clientStartMissing: true, serverStartMissing: true, serverPort: 3542 }));
    expect(f.protocol).toBe("tls");
    expect(f.tls?.alerts).toEqual([{ from: "server", level: "encrypted", description: ENCRYPTED_ALERT }]);
    expect(f.tls?.clientHelloSeen).toBe(false);
  });

  it("mid-stream: one application-data record cut by the end of the kept bytes, each way, is tls", () => {
    const client = bytes(0x17, 0x03, 0x03, 0x40, 0x00, cipher(100, 1)); // type 23, TLS 1.2, length 16384: the rest not kept
    const server = bytes(0x17, 0x03, 0x03, 0x00, 0x30, cipher(48, 2)); // one whole 48-byte record
    expect(detect(tcp(client, server, { clientStartMissing: true, serverStartMissing: true })).protocol).toBe("tls");
  });

  it("a header whose length runs into a byte that cannot start a record is not tls", () => {
    const b = bytes(0x17, 0x03, 0x03, 0x00, 0x04, 1, 2, 3, 4, 0x41, 0x42, 0x43); // 4-byte record, then "ABC"
    expect(detect(tcp(b, new Uint8Array(0))).protocol).toBe("unknown");
  });

  it("unrecognised binary is unknown, not plaintext; plaintext needs text", () => {
    expect(detect(tcp(cipher(200), cipher(200, 9))).protocol).toBe("unknown");
    expect(detect(tcp(bytes("USER anonymous\r\n"), new Uint8Array(0))).protocol).toBe("plaintext");
  });
});

describe("encrypted alert records are never parsed as plaintext alerts", () => {
  it("after the server's ChangeCipherSpec (TLS 1.2) an alert record is reported as encrypted, even a 2-byte one", () => {
    const f = detect(tcp(clientHello("a.example"), bytes(serverHello(), ccs(), record(CT.handshake, 0x0303, cipher(40)), alert(2, 45))));
    expect(f.protocol).toBe("tls");
    expect(f.tls?.alerts).toEqual([{ from: "server", level: "encrypted", description: ENCRYPTED_ALERT }]);
    expect(f.tls?.alerts.some((a) => a.description === "certificate_expired")).toBe(false);
  });

  it("an alert record longer than 2 bytes is ciphertext whatever came before (here: no ChangeCipherSpec captured)", () => {
    // 0x02 0x2d would read as "fatal certificate_expired" if the first two bytes were taken as an alert.
    const encrypted = record(CT.alert, 0x0303, bytes(0x02, 0x2d, cipher(24, 5)));
    const f = detect(tcp(clientHello("a.example"), bytes(serverHello(), encrypted)));
    expect(f.tls?.alerts).toEqual([{ from: "server", level: "encrypted", description: ENCRYPTED_ALERT }]);
  });

  it("a 2-byte alert before the ChangeCipherSpec is read in clear", () => {
    const f = detect(tcp(clientHello("a.example"), bytes(serverHello(), alert(1, 112))));
    expect(f.tls?.alerts).toEqual([{ from: "server", level: "warning", description: "unrecognized_name" }]);
  });
});

describe("mid-stream RDP", () => {
  /** Fast-path output (MS-RDPBCGR §2.2.9.1.2): header 0x80 (action 0, flags ENCRYPTED), length, then the (encrypted) updates. */
  function fastPath(n: number, seed: number): Uint8Array {
    const body = cipher(n - 2, seed);
    return bytes(0x80, n, body); // fpOutputHeader, length1 (< 0x80: one byte, the whole PDU's length), data
  }
  /** The same with the two-byte length form (length1 top bit set, 15-bit length). */
  function fastPathLong(n: number, seed: number): Uint8Array {
    return bytes(0x80, 0x80 | (n >> 8), n & 0xff, cipher(n - 3, seed));
  }

  it("a server side that is one fast-path PDU whose length is the segment's is rdp, start missing", () => {
    const f = detect(tcp(new Uint8Array(0), fastPath(90, 4), { clientStartMissing: true, serverStartMissing: true, serverPort: 3389 }));
    expect(f.protocol).toBe("rdp");
    expect(f.rdp).toEqual({ cookie: null, requestedProtocols: [], selectedProtocol: null, failure: null });
    expect(f.anomalies).toEqual([]);
  });

  it("several PDUs back to back, fast-path and TPKT, each way", () => {
    const server = bytes(fastPathLong(300, 1), fastPath(40, 2), bytes(0x03, 0x00, 0x00, 0x0c, cipher(8, 3)));
    const client = bytes(0x08, 20, cipher(18, 5), 0x04, 12, cipher(10, 6)); // fast-path input: numEvents in the header
    expect(detect(tcp(client, server, { clientStartMissing: true, serverStartMissing: true, serverPort: 3389 })).protocol).toBe("rdp");
  });

  it("with the start captured, the same bytes are not RDP (an RDP connection begins with X.224)", () => {
    expect(detect(tcp(new Uint8Array(0), fastPath(90, 4), { serverPort: 3389 })).protocol).toBe("unknown");
  });

  it("the server's fast-path headers need their four reserved bits 0 (output, §2.2.9.1.2); the client's carry numEvents there", () => {
    const server = bytes(0x88, 40, cipher(38, 7), 0x80, 30, cipher(28, 8)); // 0x88: reserved bit 3 set, then a good PDU
    expect(detect(tcp(new Uint8Array(0), server, { clientStartMissing: true, serverStartMissing: true, serverPort: 3389 })).protocol).toBe("unknown");
    const client = bytes(0x88, 40, cipher(38, 7), 0x80, 30, cipher(28, 8)); // the same bytes as input: numEvents 2
    expect(detect(tcp(client, new Uint8Array(0), { clientStartMissing: true, serverStartMissing: true, serverPort: 3389 })).protocol).toBe("rdp");
  });

  it("text is not RDP even when its letters chain as fast-path lengths (an HTTP response seen mid-stream)", () => {
    // plaintext-http-on-443.pcap's response (231 bytes): 'H' (0x48) reads as a header with action bits 00 and
    // 'T' (0x54) as an 84-byte length, '0' (0x30) at 84 as the next with 53, 'L' at 137 with 97: two whole PDUs, one cut.
    const text = new TextEncoder().encode(
      "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nDate: Wed, 25 Nov 2026 10:47:05 GMT\r\nContent-type: text/html\r\n" +
        "Content-Length: 46\r\nLast-Modified: Wed, 25 Nov 2026 10:46:42 GMT\r\n\r\nhello from the phoenix-netcheck recording lab\n",
    );
    expect(text.length).toBe(231);
    // On the client's side (fast-path input, whose middle header bits are numEvents) only the text rule tells.
    expect(detect(tcp(text, new Uint8Array(0), { clientStartMissing: true, serverStartMissing: true, serverPort: 443 })).protocol).not.toBe("rdp");
  });

  it("a length that does not match the bytes is not RDP", () => {
    // A 50-byte fast-path PDU, then a byte whose action bits (01) no fast-path header has.
    const f = detect(tcp(new Uint8Array(0), bytes(0x80, 50, new Array(48).fill(0x11), 0x01, new Array(19).fill(0x22)), { clientStartMissing: true, serverStartMissing: true }));
    expect(f.protocol).toBe("unknown");
  });
});
