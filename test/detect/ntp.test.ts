import { describe, expect, it } from "vitest";
import { looksLikeNtp, ntpDetector } from "../../src/detect/ntp.js";
import { detect } from "../../src/detect/registry.js";
import { emptyFacts } from "../../src/detect/types.js";
import { ntpControlRequest, ntpControlResponse, ntpMonlist, ntpServerReply, ntpV3Client, ntpV3Server, ntpV4Client, ntpV4Server } from "./fixtures.js";
import { bytes, names, udp, zeros } from "./sample.js";

function analyze(...d: [boolean, Uint8Array][]) {
  const f = emptyFacts();
  ntpDetector.analyze(udp(d, { serverPort: 123 }), f);
  return f;
}

describe("ntp detector", () => {
  it("reads a v4 client request and server reply", () => {
    const f = detect(udp([[true, ntpV4Client], [false, ntpV4Server]], { serverPort: 123 }));
    expect(f.protocol).toBe("ntp");
    expect(f.ntp).toEqual({ version: 4, clientMode: 3, serverMode: 4, stratum: 2 });
    expect(f.anomalies).toEqual([]);
  });

  it("reads an SNTP v3 exchange with a stratum-1 server", () => {
    const f = detect(udp([[true, ntpV3Client], [false, ntpV3Server]], { serverPort: 123 }));
    expect(f.protocol).toBe("ntp");
    expect(f.ntp).toEqual({ version: 3, clientMode: 3, serverMode: 4, stratum: 1 });
    expect(f.anomalies).toEqual([]);
  });

  it("reads control (mode 6) and private (mode 7) messages", () => {
    const c = detect(udp([[true, ntpControlRequest], [false, ntpControlResponse]], { serverPort: 123 }));
    expect(c.protocol).toBe("ntp");
    expect(c.ntp).toEqual({ version: 2, clientMode: 6, serverMode: 6, stratum: null });
    expect(c.anomalies).toEqual([]);
    const m = detect(udp([[true, ntpMonlist]], { serverPort: 123 }));
    expect(m.protocol).toBe("ntp");
    expect(m.ntp?.clientMode).toBe(7);
    expect(names(m.anomalies)).toEqual(["ntp_mode7_private"]);
    expect(m.anomalies[0].message).toContain("request code 42");
  });

  it("names a reply whose origin is not the request's transmit", () => {
    const f = analyze([true, ntpV4Client], [false, ntpServerReply(0x24, 2, [0xdeadbeef, 0])]);
    expect(names(f.anomalies)).toEqual(["ntp_origin_mismatch"]);
    expect(f.anomalies[0].frame).toBe(2);
    expect(f.anomalies[0].direction).toBe("server");
  });

  it("names kiss-o'-death, an unsynchronized server, a version mismatch and a wrong reply mode", () => {
    // Stratum 0 with reference ID "RATE" (RFC 5905 §7.4).
    const kod = analyze([true, ntpV4Client], [false, ntpServerReply(0x24, 0, undefined, [0x52, 0x41, 0x54, 0x45])]);
    expect(names(kod.anomalies)).toEqual(["ntp_kiss_of_death"]);
    expect(kod.anomalies[0].message).toContain('"RATE"');
    // LI 3 (alarm: clock not synchronized): 0xe4 = 11 100 100.
    expect(names(analyze([true, ntpV4Client], [false, ntpServerReply(0xe4, 2)]).anomalies)).toEqual(["ntp_unsynchronized"]);
    // v4 request answered in v3 (0x1c = 00 011 100).
    expect(names(analyze([true, ntpV4Client], [false, ntpServerReply(0x1c, 2)]).anomalies)).toEqual(["ntp_version_mismatch"]);
    // Client request answered in symmetric passive mode (0x22 = 00 100 010).
    expect(names(analyze([true, ntpV4Client], [false, ntpServerReply(0x22, 2)]).anomalies)).toEqual(["ntp_unexpected_mode"]);
  });

  it("names short packets and bad versions", () => {
    expect(names(analyze([true, ntpV4Client.subarray(0, 40)]).anomalies)).toEqual(["ntp_short_packet"]);
    const v7 = Uint8Array.from(ntpV4Client);
    v7[0] = 0x3b; // VN 7, mode 3
    expect(names(analyze([true, v7]).anomalies)).toEqual(["ntp_bad_version"]);
  });

  it("probe: lenient on port 123, strict elsewhere", () => {
    // A v4 client request whose poll byte (0x20 = 2^32 s) no real clock uses.
    const odd = Uint8Array.from(ntpV4Client);
    odd[2] = 0x20;
    expect(ntpDetector.probe(udp([[true, odd]], { serverPort: 123 }))).toBe("match");
    expect(ntpDetector.probe(udp([[true, odd]], { serverPort: 5000 }))).toBe("no");
    // A well-formed request is NTP on any port (tried last among UDP probes).
    expect(ntpDetector.probe(udp([[true, ntpV4Client]], { serverPort: 5000 }))).toBe("match");
    // Wrong length (49 bytes), version 0, mode 0.
    expect(looksLikeNtp(bytes(ntpV4Client, 0), false)).toBe(false);
    expect(looksLikeNtp(bytes(0x03, zeros(47)), false)).toBe(false);
    expect(looksLikeNtp(bytes(0x20, zeros(47)), false)).toBe(false);
    // NTP is UDP only.
    expect(ntpDetector.transports).toEqual(["udp"]);
  });
});
