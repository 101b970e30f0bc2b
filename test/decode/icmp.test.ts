import { describe, expect, it } from "vitest";
import { hasTransport } from "../../src/decode/decode.js";
import { quotedTransportBytes } from "../../src/decode/icmp.js";
import { Status } from "../../src/decode/status.js";
import { cat, decodeOnce, eth, extHeader, fragHeader, IP4_A, IP4_B, IP6_A, IP6_B, ipv4, ipv6, payloadOf, tcp, u16, u32, udp } from "./build.js";

// The packet that caused the error: a UDP datagram from A:40000 to B:5000, sent by A.
const offendingUdp4 = ipv4({ proto: 17, src: IP4_A, dst: IP4_B, payload: udp({ sport: 40000, dport: 5000, payload: [1, 2, 3, 4] }) });
const offendingUdp6 = ipv6({ next: 17, src: IP6_A, dst: IP6_B, payload: udp({ sport: 40001, dport: 5001, payload: [1, 2, 3, 4] }) });

/** An ICMP error sent by B back to A, quoting the IP header and 8 bytes of the offending packet (RFC 792). */
function icmp4Error(type: number, code: number, quoted: Uint8Array): Uint8Array {
  return eth(0x0800, ipv4({
    proto: 1, src: IP4_B, dst: IP4_A,
    payload: cat(
      [type], // Type
      [code], // Code
      u16(0), // checksum
      u32(0), // unused (or gateway address / pointer)
      quoted, // original IP header + first 8 bytes of its payload
    ),
  }));
}

function icmp6Error(type: number, code: number, quoted: Uint8Array): Uint8Array {
  return eth(0x86dd, ipv6({
    next: 58, src: IP6_B, dst: IP6_A,
    payload: cat(
      [type], // Type
      [code], // Code
      u16(0), // checksum
      u32(type === 2 ? 1280 : 0), // unused, or the MTU for Packet Too Big
      quoted, // as much of the invoking packet as fits
    ),
  }));
}

describe("ICMP (RFC 792)", () => {
  it("echo request: type/code, no quote, data as payload", () => {
    const frame = eth(0x0800, ipv4({ proto: 1, payload: cat([8, 0], u16(0), u16(0x0008), u16(1), [0x61, 0x62]) }));
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(p.ipProto).toBe(1);
    expect(p.icmpType).toBe(8);
    expect(p.icmpCode).toBe(0);
    expect(p.hasQuoted).toBe(false);
    expect(payloadOf(p)).toEqual([0x61, 0x62]);
    expect(hasTransport(p)).toBe(false);
  });

  it("port unreachable quoting a UDP packet: quoted addresses, protocol and ports", () => {
    const { p, status } = decodeOnce(icmp4Error(3, 3, offendingUdp4.subarray(0, 28)));
    expect(status).toBe(Status.OK);
    expect(p.icmpType).toBe(3);
    expect(p.icmpCode).toBe(3);
    expect(p.hasQuoted).toBe(true);
    expect(p.quotedIpVersion).toBe(4);
    expect(Array.from(p.quotedSrcIp.subarray(0, 4))).toEqual(IP4_A);
    expect(Array.from(p.quotedDstIp.subarray(0, 4))).toEqual(IP4_B);
    expect(p.quotedProto).toBe(17);
    expect(p.quotedSrcPort).toBe(40000);
    expect(p.quotedDstPort).toBe(5000);
    // The ICMP packet itself has no ports of its own.
    expect(p.srcPort).toBe(0);
    expect(p.dstPort).toBe(0);
  });

  it("a router that quotes the whole packet (RFC 1812) works the same", () => {
    const { p } = decodeOnce(icmp4Error(3, 3, offendingUdp4));
    expect(p.quotedDstPort).toBe(5000);
  });

  it.each([
    ["time exceeded", 11, 0],
    ["source quench", 4, 0],
    ["redirect", 5, 1],
    ["parameter problem", 12, 0],
    ["host unreachable", 3, 1],
  ])("%s quoting TCP with IP options", (_n, type, code) => {
    const quoted = ipv4({ proto: 6, options: [1, 1, 1, 0], payload: tcp({ sport: 1111, dport: 902 }) }).subarray(0, 24 + 8);
    const { p, status } = decodeOnce(icmp4Error(type, code, quoted));
    expect(status).toBe(Status.OK);
    expect(p.icmpType).toBe(type);
    expect(p.hasQuoted).toBe(true);
    expect(p.quotedProto).toBe(6);
    expect(p.quotedSrcPort).toBe(1111);
    expect(p.quotedDstPort).toBe(902);
  });

  it("a quoted non-first fragment has no ports", () => {
    const quoted = ipv4({ proto: 17, fragOffset: 1480, payload: [1, 2, 3, 4, 5, 6, 7, 8] });
    const { p, status } = decodeOnce(icmp4Error(11, 1, quoted));
    expect(status).toBe(Status.OK);
    expect(p.hasQuoted).toBe(true);
    expect(p.quotedProto).toBe(17);
    expect(p.quotedSrcPort).toBe(0);
  });

  it("a quote that stops after the IP header keeps addresses, ports 0", () => {
    const { p, status } = decodeOnce(icmp4Error(3, 3, offendingUdp4.subarray(0, 22)));
    expect(status).toBe(Status.OK);
    expect(p.hasQuoted).toBe(true);
    expect(p.quotedSrcPort).toBe(0);
  });

  it("an error too short to hold the quoted IP header is Malformed", () => {
    const { p, status } = decodeOnce(icmp4Error(3, 3, offendingUdp4.subarray(0, 12)));
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("icmp");
    expect(p.icmpType).toBe(3);
    expect(p.hasQuoted).toBe(false);
  });

  it("a quote cut by the snaplen is Truncated", () => {
    const frame = icmp4Error(3, 3, offendingUdp4.subarray(0, 28));
    const caplen = 14 + 20 + 8 + 10;
    const { p, status } = decodeOnce(frame.subarray(0, caplen), 1, caplen, frame.length);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("icmp");
  });

  it("a quote with IP version 6 inside ICMPv4 is Malformed", () => {
    const { status } = decodeOnce(icmp4Error(3, 3, offendingUdp6.subarray(0, 48)));
    expect(status).toBe(Status.Malformed);
  });

  it("a message shorter than 4 bytes is Malformed; cut before 4 bytes is Truncated", () => {
    expect(decodeOnce(eth(0x0800, ipv4({ proto: 1, payload: [3, 3] }))).status).toBe(Status.Malformed);
    const frame = eth(0x0800, ipv4({ proto: 1, payload: [3, 3, 0, 0, 0, 0, 0, 0] }));
    expect(decodeOnce(frame.subarray(0, 36), 1, 36, frame.length).status).toBe(Status.Truncated);
  });
});

describe("ICMPv6 (RFC 4443)", () => {
  it("destination unreachable / port unreachable quoting UDP", () => {
    const { p, status } = decodeOnce(icmp6Error(1, 4, offendingUdp6));
    expect(status).toBe(Status.OK);
    expect(p.ipProto).toBe(58);
    expect(p.icmpType).toBe(1);
    expect(p.icmpCode).toBe(4);
    expect(p.hasQuoted).toBe(true);
    expect(p.quotedIpVersion).toBe(6);
    expect(Array.from(p.quotedSrcIp)).toEqual(IP6_A);
    expect(Array.from(p.quotedDstIp)).toEqual(IP6_B);
    expect(p.quotedProto).toBe(17);
    expect(p.quotedSrcPort).toBe(40001);
    expect(p.quotedDstPort).toBe(5001);
  });

  it("quoting a packet with a destination-options header before UDP", () => {
    const quoted = ipv6({ next: 60, payload: cat(extHeader(17), udp({ sport: 7, dport: 8 })) });
    const { p } = decodeOnce(icmp6Error(1, 4, quoted));
    expect(p.quotedProto).toBe(17);
    expect(p.quotedSrcPort).toBe(7);
    expect(p.quotedDstPort).toBe(8);
  });

  it("quoting the first fragment of a datagram gives its ports; a later fragment none", () => {
    const first = ipv6({ next: 44, payload: cat(fragHeader(17, 0, true, 5), udp({ sport: 9, dport: 10, payload: [0, 0] })) });
    expect(decodeOnce(icmp6Error(3, 1, first)).p.quotedDstPort).toBe(10);
    const later = ipv6({ next: 44, payload: cat(fragHeader(17, 1232, false, 5), [1, 2, 3, 4, 5, 6, 7, 8]) });
    const r = decodeOnce(icmp6Error(3, 1, later));
    expect(r.p.hasQuoted).toBe(true);
    expect(r.p.quotedSrcPort).toBe(0);
  });

  it.each([
    ["packet too big", 2, 0],
    ["time exceeded", 3, 0],
    ["parameter problem", 4, 1],
  ])("%s quoting TCP", (_n, type, code) => {
    const quoted = ipv6({ next: 6, payload: tcp({ sport: 443, dport: 50123 }) });
    const { p, status } = decodeOnce(icmp6Error(type, code, quoted));
    expect(status).toBe(Status.OK);
    expect(p.quotedProto).toBe(6);
    expect(p.quotedSrcPort).toBe(443);
    expect(p.quotedDstPort).toBe(50123);
  });

  it("echo request (128): no quote", () => {
    const frame = eth(0x86dd, ipv6({ next: 58, payload: cat([128, 0], u16(0), u16(9), u16(1), [0x61]) }));
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(p.icmpType).toBe(128);
    expect(p.hasQuoted).toBe(false);
    expect(payloadOf(p)).toEqual([0x61]);
  });

  it("neighbor solicitation (135) is not an error", () => {
    const frame = eth(0x86dd, ipv6({ next: 58, payload: cat([135, 0], u16(0), u32(0), IP6_B) }));
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(p.hasQuoted).toBe(false);
  });
});

describe("quotedTransportBytes (tshark counts an ICMP error in the quoted stream from 16 TCP / 8 UDP bytes)", () => {
  it.each([8, 15, 16, 20])("ICMP quoting %i bytes of TCP", (n) => {
    const quoted = ipv4({ proto: 6, payload: tcp({ sport: 4000 }) }).subarray(0, 20 + n);
    const { p } = decodeOnce(icmp4Error(3, 3, quoted));
    expect(quotedTransportBytes(p)).toBe(n);
    expect(p.quotedSrcPort).toBe(4000); // the ports are there either way
  });

  it("IPv4 options in the quote are not transport bytes", () => {
    const quoted = ipv4({ proto: 17, options: [1, 1, 1, 0], payload: udp() });
    expect(quotedTransportBytes(decodeOnce(icmp4Error(3, 3, quoted)).p)).toBe(8);
  });

  it("ICMPv6 quoting a destination-options header then UDP", () => {
    const quoted = ipv6({ next: 60, payload: cat(extHeader(17), udp({ payload: [1, 2, 3] })) });
    expect(quotedTransportBytes(decodeOnce(icmp6Error(1, 4, quoted)).p)).toBe(11);
  });

  it("-1 when nothing is quoted", () => {
    const echo = eth(0x0800, ipv4({ proto: 1, payload: [8, 0, 0, 0, 0, 0, 0, 0] }));
    expect(quotedTransportBytes(decodeOnce(echo).p)).toBe(-1);
  });
});
