/**
 * QUIC Initial decryption against the test vectors of RFC 9001 Appendix A and RFC 9369
 * Appendix A, then the detector on datagrams built byte by byte: a client Initial protected by
 * the test's own packet protector (checked against RFC 9001 A.3 first), the RFC's server Initial,
 * CRYPTO frames out of order over two packets, a cut packet, CONNECTION_CLOSE, Version Negotiation.
 */
import { describe, expect, it } from "vitest";
import { initialKeys, openLongHeaderPacket, quicVersionInfo } from "../../src/detect/quic-crypto.js";
import { analyzeQuic, quicDetector } from "../../src/detect/quic.js";
import { Cursor } from "../../src/bytes/cursor.js";
import { gquicSni, probeQuicDatagram } from "../../src/detect/quic-wire.js";
import { detect } from "../../src/detect/registry.js";
import { emptyFacts, type Datagram, type StreamSample } from "../../src/detect/types.js";
import { udp } from "./sample.js";
import { ascii, bytes, u16 } from "./tls-bytes.js";
import { A3_HEADER, A3_PACKET, A3_PAYLOAD, clientInitial, cryptoFrame, DCID, h, hx, protect, quicClientHello, V1, V2, V2_A3_PACKET, varint } from "./udp-fixtures.js";

/** The datagrams (with their own frame numbers) as a UDP sample on port 443. */
function sample(datagrams: Datagram[]): StreamSample {
  return { ...udp([], { serverPort: 443 }), datagrams, firstSpeaker: datagrams[0]?.fromClient ? "client" : "server" };
}

describe("Initial keys (RFC 9001 §A.1, RFC 9369 §A.1)", () => {
  it("derives version 1's client and server keys from the example DCID", () => {
    const k = initialKeys(V1, DCID);
    expect([hx(k.client.key), hx(k.client.iv), hx(k.client.hp)]).toEqual(["1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"]);
    expect([hx(k.server.key), hx(k.server.iv), hx(k.server.hp)]).toEqual(["cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314"]);
  });

  it("derives version 2's with its own salt and labels", () => {
    const k = initialKeys(V2, DCID);
    expect([hx(k.client.key), hx(k.client.iv), hx(k.client.hp)]).toEqual(["8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"]);
    expect([hx(k.server.key), hx(k.server.iv), hx(k.server.hp)]).toEqual(["82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a"]);
  });

  it("knows v1, v2 and drafts 29-32, and no other version", () => {
    expect(quicVersionInfo(0xff00001d)?.name).toBe("draft-29");
    expect(quicVersionInfo(0xff00001c)).toBeNull();
    expect(quicVersionInfo(0x51303436)).toBeNull(); // "Q046"
  });
});

describe("opening Initial packets", () => {
  it("RFC 9001 §A.3: the server Initial opens to the RFC's payload, packet number 1", () => {
    const o = openLongHeaderPacket(A3_PACKET, 18, initialKeys(V1, DCID).server, -1);
    expect(o?.packetNumber).toBe(1);
    expect(hx(o!.payload)).toBe(hx(A3_PAYLOAD));
  });

  it("RFC 9369 §A.3: the same under version 2", () => {
    const o = openLongHeaderPacket(V2_A3_PACKET, 18, initialKeys(V2, DCID).server, -1);
    expect(o?.packetNumber).toBe(1);
    expect(hx(o!.payload)).toBe(hx(A3_PAYLOAD));
  });

  it("the test's protector reproduces RFC 9001 §A.3 byte for byte (so the packets built below are right)", () => {
    expect(hx(protect(initialKeys(V1, DCID).server, A3_HEADER, 18, 1, A3_PAYLOAD))).toBe(hx(A3_PACKET));
  });

  it("a damaged byte, the wrong keys or a cut packet open to nothing", () => {
    const k = initialKeys(V1, DCID);
    const bad = A3_PACKET.slice();
    bad[60] ^= 0x01;
    expect(openLongHeaderPacket(bad, 18, k.server, -1)).toBeNull();
    expect(openLongHeaderPacket(A3_PACKET, 18, k.client, -1)).toBeNull();
    expect(openLongHeaderPacket(A3_PACKET.subarray(0, 100), 18, k.server, -1)).toBeNull();
    expect(openLongHeaderPacket(A3_PACKET.subarray(0, 30), 18, k.server, -1)).toBeNull(); // no room for the sample
  });

  it("reads RFC 9000 §A.1's varint examples through the cursor", () => {
    const one = (hex: string): [number, number] => {
      const c = new Cursor(h(hex));
      return [c.varint(), c.pos];
    };
    expect(one("c2197c5eff14e88c")).toEqual([151288809941952652, 8]);
    expect(one("9d7f3e7d")).toEqual([494878333, 4]);
    expect(one("7bbd")).toEqual([15293, 2]);
    expect(one("25")).toEqual([37, 1]);
    expect(one("7b")).toEqual([-1, 0]); // a 2-byte varint cut after its first byte: not read, not moved
  });
});

describe("the QUIC detector", () => {
  const hello = quicClientHello("backup.example");
  // The ClientHello split in two CRYPTO frames, sent in two packets, the second half first.
  const half = 100;
  const second = clientInitial(1, DCID, 0, cryptoFrame(half, hello.subarray(half)));
  const first = clientInitial(1, DCID, 1, cryptoFrame(0, hello.subarray(0, half)));
  const datagrams: Datagram[] = [
    { fromClient: true, frame: 1, data: second },
    { fromClient: true, frame: 2, data: first },
    { fromClient: false, frame: 3, data: A3_PACKET },
  ];

  it("probes a client Initial as QUIC, and other UDP not", () => {
    expect(probeQuicDatagram(first)).toBe(true);
    expect(quicDetector.probe(sample(datagrams))).toBe("match");
    expect(probeQuicDatagram(bytes(0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00))).toBe(false); // a DNS query header
    expect(probeQuicDatagram(bytes(0xc0, 0x0a, 0x0b, 0x0c, 0x0d, 0x08))).toBe(false); // unknown version, cut
    expect(detect(sample(datagrams)).protocol).toBe("quic");
    // An NTP v4 request from an unsynchronised clock: LI 3, VN 4, mode 3 (0xe3), stratum 0, poll 0,
    // precision 0, then zeros. Its first five bytes read as a QUIC long header of version 0
    // (Version Negotiation), which a client never sends.
    const ntp = bytes(0xe3, 0x00, 0x00, 0x00, new Array(44).fill(0));
    expect(probeQuicDatagram(ntp)).toBe(false);
    expect(detect({ ...sample([{ fromClient: true, frame: 1, data: ntp }]), serverPort: 123 }).protocol).toBe("ntp");
    // A v1 Initial whose DCID is shorter than the 8 bytes a client's first Initial must have (RFC 9000 §7.2).
    expect(probeQuicDatagram(clientInitial(1, DCID.subarray(0, 4), 0, cryptoFrame(0, hello)))).toBe(false);
  });

  it("reassembles the CRYPTO frames out of order and reads both hellos", () => {
    const out = emptyFacts();
    analyzeQuic(sample(datagrams), out);
    expect(out.anomalies).toEqual([]);
    expect(out.quic).toMatchObject({ version: "1", dcid: "8394c8f03e515708", clientInitials: 2, serverInitials: 1, unopened: 0, retry: false, truncated: [], close: null });
    const t = out.tls!;
    expect(t.sni).toBe("backup.example");
    expect(t.clientVersion).toBe("TLS 1.3");
    expect(t.alpn).toEqual(["h3"]);
    expect(t.version).toBe("TLS 1.3"); // RFC 9001 §A.3's ServerHello: supported_versions 0x0304
    expect(t.cipher).toBe("TLS_AES_128_GCM_SHA256");
    // JA4 part a: q (QUIC), 13, d (SNI), 03 ciphers, 07 extensions, h3.
    expect(t.ja4?.startsWith("q13d0307h3_")).toBe(true);
    expect(t.certificateVisible).toBe(false);
    expect(t.truncated).toEqual([]);
  });

  it("a version 2 server Initial opens with the client's version 2 DCID", () => {
    const out = emptyFacts();
    const c2 = clientInitial(0x6b3343cf, DCID, 0, cryptoFrame(0, hello));
    analyzeQuic(sample([{ fromClient: true, frame: 1, data: c2 }, { fromClient: false, frame: 2, data: V2_A3_PACKET }]), out);
    expect(out.quic?.version).toBe("2");
    expect([out.quic?.clientInitials, out.quic?.serverInitials]).toEqual([1, 1]);
    expect(out.tls?.sni).toBe("backup.example");
    expect(out.tls?.cipher).toBe("TLS_AES_128_GCM_SHA256");
  });

  it("a client Initial cut by the snap length: the hello is unknown, with the reason; the server's still opens", () => {
    const out = emptyFacts();
    const whole = clientInitial(1, DCID, 0, cryptoFrame(0, hello));
    analyzeQuic(sample([{ fromClient: true, frame: 1, data: whole.subarray(0, 200) }, { fromClient: false, frame: 2, data: A3_PACKET }]), out);
    expect(out.quic?.truncated).toEqual([{ from: "client", frame: 1, captured: 200, declared: whole.length }]);
    expect(out.quic?.serverInitials).toBe(1);
    expect(out.tls?.sni).toBeNull();
    expect(out.tls?.clientVersion).toBeNull();
    expect(out.tls?.version).toBe("TLS 1.3");
    expect(out.tls?.truncated).toHaveLength(1);
    expect(out.tls?.truncated[0].reason).toContain(`captured with 200 of its ${whole.length} bytes (the snap length)`);
  });

  it("a ClientHello whose second CRYPTO frame was not captured is a truncated ClientHello at the bytes that were", () => {
    const out = emptyFacts();
    analyzeQuic(sample([{ fromClient: true, frame: 2, data: first }]), out);
    expect(out.tls?.clientHelloSeen).toBe(false);
    expect(out.tls?.truncated[0]).toMatchObject({ from: "client", message: "ClientHello", declared: hello.length - 4, truncatedAt: half });
  });

  it("CONNECTION_CLOSE with a CRYPTO_ERROR names the TLS alert", () => {
    const out = emptyFacts();
    const reason = ascii("no application protocol");
    const close = bytes(0x1c, varint(0x0178), 0x06, varint(reason.length), reason); // error 0x0178 = CRYPTO_ERROR(no_application_protocol 120), frame type CRYPTO
    const c = clientInitial(1, DCID, 0, cryptoFrame(0, hello));
    const s = protect(initialKeys(V1, DCID).server, bytes(0xc1, 0, 0, 0, 1, 0, 0x04, 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x40, 2 + 40 + 16, u16(0)), 14, 0, bytes(close, new Array(40 - close.length).fill(0)));
    analyzeQuic(sample([{ fromClient: true, frame: 1, data: c }, { fromClient: false, frame: 2, data: s }]), out);
    expect(out.quic?.close).toEqual({ from: "server", error: "0x178", tlsAlert: "no_application_protocol", reason: "no application protocol" });
    expect(out.tls?.alerts).toEqual([{ from: "server", level: "fatal", description: "no_application_protocol" }]);
  });

  it("Version Negotiation lists the versions the server offers", () => {
    const out = emptyFacts();
    const c = clientInitial(1, DCID, 0, cryptoFrame(0, hello));
    const vn = bytes(0x80, 0, 0, 0, 0, 0x00, 0x08, DCID, [0x6b, 0x33, 0x43, 0xcf], [0xff, 0x00, 0x00, 0x1d]); // version 0, DCID empty, SCID = the client's DCID, versions v2 and draft-29
    analyzeQuic(sample([{ fromClient: true, frame: 1, data: c }, { fromClient: false, frame: 2, data: vn }]), out);
    expect(out.quic?.offeredVersions).toEqual(["2", "draft-29"]);
  });

  it("Google QUIC: the version from the public header, the SNI from the CHLO in clear", () => {
    const sni = ascii("backup.example");
    const verValue = ascii("Q043");
    const chlo = bytes(
      ascii("CHLO"), // message tag
      0x02, 0x00, // number of entries (u16 LE)
      0x00, 0x00, // padding
      ascii("SNI"), 0x00, sni.length, 0x00, 0x00, 0x00, // tag "SNI\0", end offset (u32 LE)
      ascii("VER"), 0x00, sni.length + 4, 0x00, 0x00, 0x00, // tag "VER\0", end offset
      sni, // SNI value
      verValue, // VER value
    );
    const packet = bytes(
      0x09, // public flags: version present (0x01), 8-byte connection ID (0x08), 1-byte packet number
      [1, 2, 3, 4, 5, 6, 7, 8], // connection ID
      ascii("Q043"), // version
      0x01, // packet number
      new Array(12).fill(0x99), // message authentication hash (FNV-1a, not checked)
      0xa0, 0x01, 0x00, 0x04, // stream frame, stream 1, offset 0, data length bytes as in the corpus capture
      chlo,
    );
    expect(probeQuicDatagram(packet)).toBe(true);
    expect(gquicSni(packet)).toBe("backup.example");
    const out = emptyFacts();
    analyzeQuic(sample([{ fromClient: true, frame: 1, data: packet }]), out);
    expect([out.quic?.version, out.quic?.sni, out.tls]).toEqual(["Q043", "backup.example", null]);
    expect(gquicSni(packet.subarray(0, packet.length - 10))).toBeNull(); // values cut: not guessed
  });

  it("never throws on cut or damaged datagrams", () => {
    for (let n = 0; n <= first.length; n += 7) {
      const out = emptyFacts();
      expect(() => analyzeQuic(sample([{ fromClient: true, frame: 1, data: first.subarray(0, n) }]), out)).not.toThrow();
      expect(out.anomalies.filter((a) => a.name === "quic_internal_error")).toEqual([]);
    }
    for (let i = 0; i < 64; i++) {
      const d = first.slice();
      d[(i * 37) % d.length] ^= 0xff;
      const out = emptyFacts();
      analyzeQuic(sample([{ fromClient: true, frame: 1, data: d }]), out);
      expect(out.anomalies.filter((a) => a.name === "quic_internal_error")).toEqual([]);
    }
  });
});
