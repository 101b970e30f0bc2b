import { describe, expect, it } from "vitest";
import { dnsDetector, plausibleMessage, rcodeName, readName } from "../../src/detect/dns.js";
import { detect } from "../../src/detect/registry.js";
import { emptyFacts } from "../../src/detect/types.js";
import { dnsLabelLoop, dnsNxdomain, dnsQuery, dnsResponse, dnsSelfLoop, dnsTcp } from "./fixtures.js";
import { bytes, names, tcp, u16be, u32be, udp } from "./sample.js";

function analyzeUdp(...d: [boolean, Uint8Array][]) {
  const f = emptyFacts();
  dnsDetector.analyze(udp(d, { serverPort: 53 }), f);
  return f;
}

describe("dns detector", () => {
  it("reads a query and a compressed response over UDP", () => {
    const f = detect(udp([[true, dnsQuery], [false, dnsResponse]], { serverPort: 53 }));
    expect(f.protocol).toBe("dns");
    // The A answer's owner is web.example.com (a pointer through the CNAME's RDATA); the CNAME itself names no address.
    expect(f.dns).toEqual({ queries: ["www.example.com"], rcodes: ["NOERROR"], answers: [{ name: "web.example.com", address: "93.184.216.34" }] });
    expect(f.anomalies).toEqual([]);
  });

  it("follows compression pointers through RDATA into the question", () => {
    // Answer 2's owner name is a pointer to 45 ("web" + pointer to 16 "example.com").
    expect(readName(dnsResponse, 0, dnsResponse.length, 51)).toEqual({ name: "web.example.com", next: 53, error: null, detail: "" });
    expect(readName(dnsResponse, 0, dnsResponse.length, 33).name).toBe("www.example.com");
  });

  it("reads DNS over TCP with its length prefix", () => {
    const f = detect(tcp(dnsTcp(dnsQuery), dnsTcp(dnsResponse), { serverPort: 53 }));
    expect(f.protocol).toBe("dns");
    expect(f.dns).toEqual({ queries: ["www.example.com"], rcodes: ["NOERROR"], answers: [{ name: "web.example.com", address: "93.184.216.34" }] });
    expect(f.anomalies).toEqual([]);
  });

  it("names rcodes, including the EDNS extended ones", () => {
    expect(analyzeUdp([false, dnsNxdomain]).dns).toEqual({ queries: ["nope.example"], rcodes: ["NXDOMAIN"], answers: [] });
    const badvers = bytes(
      u16be(7), u16be(0x8100), // ID, QR 1, RD 1, header RCODE 0
      u16be(0), u16be(0), u16be(0), u16be(1), // AR 1
      0, // OPT owner: root
      u16be(41), // TYPE OPT
      u16be(1232), // CLASS = UDP payload size
      0x01, 0x00, u16be(0), // TTL: extended RCODE 1 (→ 16 BADVERS), version 0, flags
      u16be(0), // RDLENGTH
    );
    expect(analyzeUdp([false, badvers]).dns?.rcodes).toEqual(["BADVERS"]);
    expect(rcodeName(5)).toBe("REFUSED");
    expect(rcodeName(15)).toBe("RCODE15");
  });

  it("stops on pointer loops, forward pointers and bad label types without hanging", () => {
    expect(readName(dnsSelfLoop, 0, dnsSelfLoop.length, 12).error).toBe("dns_name_pointer_loop");
    expect(readName(dnsLabelLoop, 0, dnsLabelLoop.length, 12).error).toBe("dns_name_pointer_loop");
    const f = analyzeUdp([true, dnsSelfLoop]);
    expect(names(f.anomalies)).toEqual(["dns_name_pointer_loop"]);
    expect(f.anomalies[0].message).toContain("points back to 12");
    const forward = bytes(u16be(1), u16be(0x0100), u16be(1), u16be(0), u16be(0), u16be(0), 0xc0, 0x12, u16be(1), u16be(1), 0);
    expect(readName(forward, 0, forward.length, 12).error).toBe("dns_name_pointer_forward");
    const outside = bytes(u16be(1), u16be(0x0100), u16be(1), u16be(0), u16be(0), u16be(0), 0xc0, 0xff, u16be(1), u16be(1));
    expect(readName(outside, 0, outside.length, 12).error).toBe("dns_name_pointer_out_of_bounds");
    const extLabel = bytes(u16be(1), u16be(0x0100), u16be(1), u16be(0), u16be(0), u16be(0), 0x41, 0, u16be(1), u16be(1));
    expect(readName(extLabel, 0, extLabel.length, 12).error).toBe("dns_bad_label_type");
  });

  it("names a name longer than 255 bytes and a truncated message", () => {
    const longName: number[] = [];
    for (let i = 0; i < 5; i++) longName.push(60, ...new Array<number>(60).fill(0x61)); // 5 × 61 = 305 bytes
    const q = bytes(u16be(1), u16be(0x0100), u16be(1), u16be(0), u16be(0), u16be(0), longName, 0, u16be(1), u16be(1));
    expect(names(analyzeUdp([true, q]).anomalies)).toEqual(["dns_name_too_long"]);
    // ANCOUNT 1 but the message ends after the question.
    const cut = Uint8Array.from(dnsQuery);
    cut[0x07] = 1;
    const f = analyzeUdp([false, cut]);
    expect(names(f.anomalies)).toEqual(["dns_name_truncated"]);
    expect(f.anomalies[0].frame).toBe(1);
  });

  it("probe: header and first question must be plausible", () => {
    expect(plausibleMessage(dnsQuery, 0, dnsQuery.length)).toBe("match");
    expect(plausibleMessage(dnsResponse, 0, dnsResponse.length)).toBe("match");
    const z = Uint8Array.from(dnsQuery);
    z[3] |= 0x40; // Z bit
    expect(plausibleMessage(z, 0, z.length)).toBe("no");
    const op3 = Uint8Array.from(dnsQuery);
    op3[2] = 0x19; // opcode 3 (unassigned), RD
    expect(plausibleMessage(op3, 0, op3.length)).toBe("no");
    const cls = Uint8Array.from(dnsQuery);
    cls[cls.length - 1] = 9; // QCLASS 9
    expect(plausibleMessage(cls, 0, cls.length)).toBe("no");
    expect(plausibleMessage(dnsQuery, 0, 10)).toBe("prefix");
    // TCP: a length prefix under 12 is not DNS; a partial message waits for more.
    expect(dnsDetector.probe(tcp(bytes(u16be(4), u32be(0)), new Uint8Array(0)))).toBe("no");
    expect(dnsDetector.probe(tcp(dnsTcp(dnsQuery).subarray(0, 10), new Uint8Array(0), { clientDone: false }))).toBe("more");
  });
});
