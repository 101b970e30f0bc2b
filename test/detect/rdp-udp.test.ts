/**
 * RDP over UDP (MS-RDPEUDP): datagrams built byte by byte from the spec (§2.2.2 structures, the
 * §4.1.2 SYN+ACK example), then the public corpus capture of a real handshake field by field.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeFiles } from "../../src/pipeline/index.js";
import { analyzeWith, detect } from "../../src/detect/registry.js";
import { rdpDetector } from "../../src/detect/rdp.js";
import { analyzeRdpUdp, probeRdpUdp } from "../../src/detect/rdp-udp.js";
import { emptyFacts, type StreamSample } from "../../src/detect/types.js";
import { PUBLIC_DIR } from "../support/corpus.js";
import { clientHello, serverHello } from "./fixtures.js";
import { bytes, udp, zeros } from "./sample.js";
import { CLIENT_ISN, CORRELATION, data, SERVER_ISN, SPEC_SYN_ACK, syn, synAck } from "./udp-fixtures.js";

function sample(datagrams: [boolean, Uint8Array][]): StreamSample {
  return udp(datagrams, { serverPort: 3389 });
}

describe("MS-RDPEUDP built from the spec", () => {
  const ch = clientHello("rdp.example");
  const sh = serverHello();

  it("a SYN is rdp, and so is the spec's SYN+ACK seen alone", () => {
    expect(probeRdpUdp(sample([[true, syn(2)]]))).toBe("match");
    expect(probeRdpUdp(sample([[false, SPEC_SYN_ACK]]))).toBe("match");
    expect(detect(sample([[true, syn(2)], [false, SPEC_SYN_ACK]])).protocol).toBe("rdp");
  });

  it("reads the SYN and the spec's SYN+ACK: correlation id, MTUs, no version from the server (so version 1)", () => {
    const out = emptyFacts();
    analyzeWith(rdpDetector, sample([[true, syn(2)], [false, SPEC_SYN_ACK]]), out);
    expect(out.rdp?.udp).toEqual({
      syn: true,
      synAck: true,
      lossy: false,
      clientVersion: "2",
      serverVersion: null,
      correlationId: Buffer.from(CORRELATION).toString("hex"),
      mtu: { up: 1232, down: 1232 },
    });
    expect(out.tls).toBeNull(); // no data datagrams
  });

  it("reassembles the tunnelled TLS from source payloads in sequence order", () => {
    const out = emptyFacts();
    const cut = 40;
    analyzeWith(rdpDetector,
      sample([
        [true, syn(2)],
        [false, synAck(2)],
        [true, data(SERVER_ISN, CLIENT_ISN + 2, ch.subarray(cut))], // second half first
        [true, data(SERVER_ISN, CLIENT_ISN + 1, ch.subarray(0, cut))],
        [true, data(SERVER_ISN, CLIENT_ISN + 1, ch.subarray(0, cut))], // a retransmission
        [false, data(CLIENT_ISN + 2, SERVER_ISN + 1, sh)],
      ]),
      out,
    );
    expect(out.rdp?.udp?.serverVersion).toBe("2");
    expect(out.tls?.sni).toBe("rdp.example");
    expect(out.tls?.clientVersion).toBe("TLS 1.2");
    expect(out.tls?.version).toBe("TLS 1.2");
    expect(out.tls?.cipher).toBe("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    expect(out.anomalies.filter((a) => a.name.startsWith("tls_"))).toEqual([]);
  });

  it("the lossy transport (DTLS) and version 3 (MS-RDPEUDP2 framing) are recognised, their TLS not read", () => {
    const lossy = emptyFacts();
    analyzeWith(rdpDetector, sample([[true, syn(2, true)], [false, synAck(2)], [true, data(SERVER_ISN, CLIENT_ISN + 1, ch)]]), lossy);
    expect(lossy.rdp?.udp?.lossy).toBe(true);
    expect(lossy.tls).toBeNull();
    const v3 = emptyFacts();
    analyzeWith(rdpDetector, sample([[true, syn(0x0101)], [false, synAck(0x0101)], [true, data(SERVER_ISN, CLIENT_ISN + 1, ch)]]), v3);
    expect([v3.rdp?.udp?.clientVersion, v3.rdp?.udp?.serverVersion]).toEqual(["3", "3"]);
    expect(v3.tls).toBeNull();
  });

  it("is not fooled by other UDP on 3389", () => {
    const notMinusOne = syn(2).slice();
    notMinusOne[0] = 0x00; // a SYN's snSourceAck must be -1
    expect(probeRdpUdp(sample([[true, notMinusOne]]))).toBe("no");
    const badMtu = syn(2).slice();
    badMtu[12] = 0x00; // uUpStreamMtu 0x00d0 = 208, below 1132
    expect(probeRdpUdp(sample([[true, badMtu]]))).toBe("no");
    expect(probeRdpUdp(sample([[true, bytes(0x12, 0x34, 0x01, 0x00, 0x00, 0x01, zeros(10))]]))).toBe("no"); // a DNS header
    expect(probeRdpUdp(sample([[true, bytes(zeros(8))]]))).toBe("no");
  });

  it("never throws on any cut of the datagrams", () => {
    const full: [boolean, Uint8Array][] = [[true, syn(2)], [false, synAck(2)], [true, data(SERVER_ISN, CLIENT_ISN + 1, ch)]];
    for (let n = 0; n <= 80; n++) {
      const out = emptyFacts();
      expect(() => analyzeRdpUdp(sample(full.map(([c, d]): [boolean, Uint8Array] => [c, d.subarray(0, n)])), out)).not.toThrow();
    }
  });
});

describe.skipIf(!existsSync(path.join(PUBLIC_DIR, "rdp-udp-rdpeudp.pcap")))("rdp-udp-rdpeudp.pcap (a real RDPEUDP handshake)", () => {
  it("is rdp on UDP with the SYN facts and the TLS inside", async () => {
    const a = await analyzeFiles([path.join(PUBLIC_DIR, "rdp-udp-rdpeudp.pcap")]);
    expect(a.conversations).toHaveLength(1);
    const f = a.conversations[0].facts!;
    expect(f.protocol).toBe("rdp");
    // Frame 1: SYN with CORRELATION_ID and SYNEX, uUdpVer 0x0003 (not in MS-RDPEUDP; tshark says "Unknown");
    // frame 2: SYN+ACK choosing RDPUDP_PROTOCOL_VERSION_2.
    expect(f.rdp?.udp).toEqual({
      syn: true,
      synAck: true,
      lossy: false,
      clientVersion: "0x0003",
      serverVersion: "2",
      correlationId: "7855d064fbaf43f0b6e8f8aadfad0000",
      mtu: { up: 1232, down: 1232 },
    });
    // Frames 3-4: ClientHello (SNI localhost) and the server's TLS 1.2 flight with its certificate
    // (tshark 4.0 shows these as "SSL Continuation Data" and reads no TLS field).
    const t = f.tls!;
    expect(t.sni).toBe("localhost");
    expect(t.version).toBe("TLS 1.2");
    expect(t.cipher).toBe("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    expect(t.certificate?.subject).toBe("CN=dc.windomain.local");
    expect(t.chain.map((c) => [c.subject, c.issuer, c.selfSigned, c.keyType])).toEqual([["CN=dc.windomain.local", "CN=dc.windomain.local", true, "rsa"]]); // a Windows host's own certificate
    expect(t.chainsToPublicRoot).toBe(false);
    expect(f.anomalies).toEqual([]);
  });
});
