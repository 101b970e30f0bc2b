import { describe, expect, it } from "vitest";
import { SUPPORTED_LINK_TYPES } from "../../src/decode/decode.js";
import { Reason } from "../../src/decode/reason.js";
import { Status } from "../../src/decode/status.js";
import { cat, decodeOnce, ipv4, ipv6, tcp, u32, u32le, udp } from "./build.js";

const v4 = ipv4({ proto: 17, payload: udp({ dport: 443 }) });
const v6 = ipv6({ next: 17, payload: udp({ dport: 443 }) });

describe("BSD null/loopback (LINKTYPE 0): family in the capturing host's byte order", () => {
  it.each([
    // [family, packet, expected version, byte order name]
    [2, v4, 4, "little-endian", u32le], // AF_INET
    [2, v4, 4, "big-endian", u32],
    [10, v6, 6, "little-endian", u32le], // AF_INET6 Linux
    [24, v6, 6, "big-endian", u32], // AF_INET6 NetBSD/OpenBSD
    [28, v6, 6, "little-endian", u32le], // AF_INET6 FreeBSD
    [30, v6, 6, "big-endian", u32], // AF_INET6 macOS
    [30, v6, 6, "little-endian", u32le],
  ] as const)("family %i (%#s) → IPv%i", (af, pkt, version, _order, enc) => {
    const { p, status } = decodeOnce(cat(enc(af), pkt), 0);
    expect(status).toBe(Status.OK);
    expect(p.ipVersion).toBe(version);
    expect(p.dstPort).toBe(443);
  });

  it("an unknown family is Unsupported", () => {
    const { p, status } = decodeOnce(cat(u32le(7), v4), 0);
    expect(status).toBe(Status.Unsupported);
    expect(p.failedLayer).toBe("null");
  });

  it("fewer than 4 bytes is Truncated", () => {
    expect(decodeOnce(new Uint8Array([2, 0, 0]), 0).status).toBe(Status.Truncated);
  });
});

describe("OpenBSD loopback (LINKTYPE 108): family in network byte order", () => {
  it("AF_INET big-endian → IPv4", () => {
    const { p, status } = decodeOnce(cat(u32(2), v4), 108);
    expect(status).toBe(Status.OK);
    expect(p.ipVersion).toBe(4);
  });

  it("AF_INET6 (24) → IPv6", () => {
    expect(decodeOnce(cat(u32(24), v6), 108).p.ipVersion).toBe(6);
  });

  it("little-endian 2 is not AF_INET here", () => {
    expect(decodeOnce(cat(u32le(2), v4), 108).status).toBe(Status.Unsupported);
  });
});

describe("raw IP link types", () => {
  it.each([101, 12, 14])("LINKTYPE %i: version nibble 4 → IPv4, 6 → IPv6", (lt) => {
    const a = decodeOnce(v4, lt);
    expect(a.status).toBe(Status.OK);
    expect(a.p.ipVersion).toBe(4);
    expect(a.p.etherType).toBe(0x0800);
    const b = decodeOnce(v6, lt);
    expect(b.status).toBe(Status.OK);
    expect(b.p.ipVersion).toBe(6);
    expect(b.p.etherType).toBe(0x86dd);
  });

  it("raw IP with another version nibble is Malformed", () => {
    const bad = ipv4({ proto: 17, payload: udp(), version: 5 });
    const { p, status } = decodeOnce(bad, 101);
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("raw");
  });

  it("an empty raw packet is Truncated", () => {
    expect(decodeOnce(new Uint8Array(0), 101).status).toBe(Status.Truncated);
  });

  it("LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229)", () => {
    expect(decodeOnce(ipv4({ proto: 6, payload: tcp() }), 228).p.ipProto).toBe(6);
    expect(decodeOnce(ipv6({ next: 6, payload: tcp() }), 229).p.ipProto).toBe(6);
  });

  it("LINKTYPE_IPV4 holding an IPv6 packet is Malformed at IPv4", () => {
    const { p, status } = decodeOnce(v6, 228);
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("ipv4");
  });
});

describe("unknown link types", () => {
  it.each([105, 127, 147, 9999])("LINKTYPE %i is Unsupported at 'link'", (lt) => {
    const { p, status } = decodeOnce(v4, lt);
    expect(status).toBe(Status.Unsupported);
    expect(p.failedLayer).toBe("link");
    expect(p.reason).toBe(Reason.UnsupportedLinkType);
    expect(p.message).toBe("unsupported link type");
    expect(p.linkType).toBe(lt);
  });

  it("SUPPORTED_LINK_TYPES lists exactly the types that decode", () => {
    for (let lt = 0; lt < 300; lt++) {
      const { p } = decodeOnce(v4, lt);
      const supported = p.reason !== Reason.UnsupportedLinkType;
      expect(supported, `link type ${lt}`).toBe(SUPPORTED_LINK_TYPES.includes(lt));
    }
  });
});
