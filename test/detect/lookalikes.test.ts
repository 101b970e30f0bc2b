/**
 * Look-alike protocols (issue 18): DTLS is `dtls`, never NTP or unknown; NetBIOS name service is
 * `nbns`, not DNS; NTP off its port needs the real structure of modes 6 and 7. Datagrams are
 * built byte by byte with a comment per field.
 */
import { describe, expect, it } from "vitest";
import { detect } from "../../src/detect/registry.js";
import { isDtlsDatagram } from "../../src/detect/dtls.js";
import { looksLikeNbns, netbiosName } from "../../src/detect/nbns.js";
import { looksLikeNtp } from "../../src/detect/ntp.js";
import { dnsQuery, dnsResponse, dtlsClientHello, dtlsHandshake, dtlsRecord, nbnsAnswer as answer, nbnsQuery as query, ntpControlRequest, ntpControlResponse, ntpMonlist, serverHelloBody } from "./fixtures.js";
import { bytes, udp, zeros } from "./sample.js";

describe("DTLS is its own protocol", () => {
  const ch = dtlsRecord(22, 0xfeff, 0, 0, dtlsHandshake(1, 0, dtlsClientHello("media.example"))); // DTLS 1.0 record version on the first flight
  const hvr = dtlsRecord(22, 0xfeff, 0, 0, dtlsHandshake(3, 0, bytes(0xfe, 0xff, 4, 1, 2, 3, 4))); // HelloVerifyRequest with a 4-byte cookie
  const ch2 = dtlsRecord(22, 0xfeff, 0, 1, dtlsHandshake(1, 1, dtlsClientHello("media.example", [1, 2, 3, 4])));
  const sh = dtlsRecord(22, 0xfefd, 0, 1, dtlsHandshake(2, 1, serverHelloBody));

  it("a DTLS 1.2 handshake on UDP 443: dtls with the ClientHello's SNI and the server's choice", () => {
    const f = detect(udp([[true, ch], [false, hvr], [true, ch2], [false, sh]], { serverPort: 443 }));
    expect(f.protocol).toBe("dtls");
    expect(f.tls).toMatchObject({ clientHelloSeen: true, serverHelloSeen: true, clientVersion: "DTLS 1.2", version: "DTLS 1.2", sni: "media.example", cipher: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" });
    expect(f.ntp).toBeNull();
  });

  it("record versions fe ff, fe fd and the pre-standard 01 00, on any port; never NTP", () => {
    for (const v of [0xfeff, 0xfefd, 0x0100]) {
      const d = dtlsRecord(22, v, 0, 0, dtlsHandshake(1, 0, dtlsClientHello("a.example")));
      expect(isDtlsDatagram(d)).toBe(true);
      for (const port of [443, 123, 5000]) expect(detect(udp([[true, d]], { serverPort: port })).protocol).toBe("dtls");
    }
  });

  it("application data and an alert mid-stream (epoch 1) are dtls; the alert is reported encrypted", () => {
    const app = dtlsRecord(23, 0x0100, 1, 7, bytes(new Array(48).fill(0x5a)));
    const alert = dtlsRecord(21, 0x0100, 1, 8, bytes(new Array(26).fill(0x6b)));
    const f = detect(udp([[true, app], [false, alert]], { serverPort: 443 }));
    expect(f.protocol).toBe("dtls");
    expect(f.tls?.alerts).toEqual([{ from: "server", level: "encrypted", description: "encrypted_alert" }]);
  });

  it("a datagram the records do not tile exactly is not DTLS", () => {
    expect(isDtlsDatagram(bytes(ch, 0x00))).toBe(false); // one stray byte after the record
    expect(isDtlsDatagram(ch.subarray(0, ch.length - 1))).toBe(false); // record cut
    expect(isDtlsDatagram(bytes(0x16, 0x03, 0x03, zeros(20)))).toBe(false); // TLS's version, not DTLS's
  });
});

describe("NTP off its port: modes 6 and 7 need their real structure", () => {
  it("DTLS records do not pass as mode 6 or 7, even the pre-standard 01 00 ones", () => {
    const ch = dtlsRecord(22, 0x0100, 0, 0, dtlsHandshake(1, 0, dtlsClientHello("a.example"))); // 16 01 00: LI 0, VN 2, mode 6, opcode 1
    const app = dtlsRecord(23, 0x0100, 1, 2, bytes(new Array(40).fill(0x11))); // 17 01 00: mode 7, implementation 0
    expect(looksLikeNtp(ch, true)).toBe(false);
    expect(looksLikeNtp(app, true)).toBe(false);
  });
  it("real control and private messages still pass off port", () => {
    expect(looksLikeNtp(ntpControlRequest, true)).toBe(true);
    expect(looksLikeNtp(ntpControlResponse, true)).toBe(true);
    expect(looksLikeNtp(ntpMonlist, true)).toBe(true);
  });
});

describe("NetBIOS name service is nbns, not DNS", () => {
  it("a name query and its answer on 137: nbns with the NetBIOS name decoded", () => {
    expect(looksLikeNbns(query)).toBe(true);
    expect(netbiosName(query, 13)).toBe("WORKGROUP<1d>");
    const f = detect(udp([[true, query], [false, answer]], { serverPort: 137, clientPort: 137 }));
    expect(f.protocol).toBe("nbns");
    expect(f.dns).toEqual({ queries: ["WORKGROUP<1d>"], rcodes: ["NOERROR"], answers: [] });
  });
  it("DNS stays DNS, also on 137", () => {
    expect(looksLikeNbns(dnsQuery)).toBe(false);
    expect(detect(udp([[true, dnsQuery], [false, dnsResponse]], { serverPort: 53 })).protocol).toBe("dns");
    expect(detect(udp([[true, dnsQuery], [false, dnsResponse]], { serverPort: 137 })).protocol).toBe("dns");
  });
});
