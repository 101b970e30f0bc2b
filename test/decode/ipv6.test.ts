import { describe, expect, it } from "vitest";
import { MAX_EXTENSION_HEADERS } from "../../src/decode/ipv6.js";
import { Status } from "../../src/decode/status.js";
import { ahHeader, cat, decodeOnce, extHeader, fill, fragHeader, IP6_A, IP6_B, ipv6, payloadOf, tcp, udp } from "./build.js";

const raw = 229; // LINKTYPE_IPV6
const HOP = 0, ROUTING = 43, FRAG = 44, ESP = 50, AH = 51, NONE = 59, DST = 60, TCP = 6, UDP = 17;

describe("IPv6 fixed header (RFC 8200 §3)", () => {
  it("copies addresses and hop limit, follows Next Header", () => {
    const { p, status } = decodeOnce(ipv6({ next: UDP, hopLimit: 9, payload: udp({ payload: [4, 2] }) }), raw);
    expect(status).toBe(Status.OK);
    expect(p.ipVersion).toBe(6);
    expect(p.ttl).toBe(9);
    expect(Array.from(p.srcIp)).toEqual(IP6_A);
    expect(Array.from(p.dstIp)).toEqual(IP6_B);
    expect(p.ipProto).toBe(UDP);
    expect(payloadOf(p)).toEqual([4, 2]);
  });

  it("fewer than 40 bytes is Truncated", () => {
    const { status, p } = decodeOnce(ipv6({ next: UDP, payload: udp() }).subarray(0, 39), raw);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("ipv6");
  });

  it("version other than 6 is Malformed", () => {
    expect(decodeOnce(ipv6({ next: UDP, payload: udp(), version: 4 }), raw).status).toBe(Status.Malformed);
  });

  it("Payload Length bounds the payload", () => {
    const frame = cat(ipv6({ next: UDP, payload: udp({ payload: [1] }) }), [9, 9, 9]);
    expect(payloadOf(decodeOnce(frame, raw).p)).toEqual([1]);
  });

  it("snaplen cut → payloadMissing", () => {
    const frame = ipv6({ next: UDP, payload: udp({ payload: fill(50) }) });
    const { p, status } = decodeOnce(frame.subarray(0, 40 + 8 + 10), raw, 58, frame.length);
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(10);
    expect(p.payloadMissing).toBe(40);
  });

  it("Payload Length 0 (jumbogram/offload) uses the frame length", () => {
    const frame = ipv6({ next: TCP, payload: tcp({ flags: 0x10, payload: fill(70000 - 60) }), payloadLength: 0 });
    const { p, status } = decodeOnce(frame, raw);
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(70000 - 60);
  });
});

describe("IPv6 extension headers (RFC 8200 §4)", () => {
  it.each([
    ["hop-by-hop", cat([...extHeader(UDP)]), HOP],
    ["hop-by-hop, 16 bytes", cat(extHeader(UDP, 1)), HOP],
    ["routing", cat(extHeader(UDP)), ROUTING],
    ["destination options", cat(extHeader(UDP, 2)), DST],
    ["authentication header (RFC 4302)", cat(ahHeader(UDP)), AH],
    ["authentication header with a 16-byte ICV", cat(ahHeader(UDP, 16)), AH],
    ["atomic fragment (offset 0, M 0; RFC 6946)", cat(fragHeader(UDP, 0, false, 77)), FRAG],
    ["hop-by-hop, routing, AH, destination options", cat(extHeader(ROUTING), extHeader(AH, 1), ahHeader(DST), extHeader(UDP)), HOP],
  ])("%s → ipProto is the upper layer", (_n, exts, first) => {
    const { p, status } = decodeOnce(ipv6({ next: first, payload: cat(exts, udp({ dport: 5353, payload: [0x42] })) }), raw);
    expect(status).toBe(Status.OK);
    expect(p.ipProto).toBe(UDP);
    expect(p.dstPort).toBe(5353);
    expect(payloadOf(p)).toEqual([0x42]);
    expect(p.wasFragment).toBe(false);
  });

  it("ESP stops the chain: Unsupported with ipProto 50", () => {
    const { p, status } = decodeOnce(ipv6({ next: DST, payload: cat(extHeader(ESP), fill(40)) }), raw);
    expect(status).toBe(Status.Unsupported);
    expect(p.ipProto).toBe(ESP);
    expect(p.payloadLength).toBe(40);
  });

  it("No Next Header (59) stops the chain", () => {
    const { p, status } = decodeOnce(ipv6({ next: NONE, payload: [] }), raw);
    expect(status).toBe(Status.Unsupported);
    expect(p.ipProto).toBe(NONE);
  });

  it("hop-by-hop anywhere but first is Malformed", () => {
    const { p, status } = decodeOnce(ipv6({ next: DST, payload: cat(extHeader(HOP), extHeader(UDP), udp()) }), raw);
    expect(status).toBe(Status.Malformed);
    expect(p.message).toBe("IPv6 hop-by-hop options header not first");
  });

  it("a chain that loops (destination options → destination options …) to the end of the payload is Malformed", () => {
    const chain: number[] = [];
    for (let i = 0; i < 10; i++) chain.push(...extHeader(DST));
    const { p, status } = decodeOnce(ipv6({ next: DST, payload: chain }), raw);
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("ipv6");
  });

  it("the same loop cut by the snaplen is Truncated", () => {
    const chain: number[] = [];
    for (let i = 0; i < 10; i++) chain.push(...extHeader(DST));
    const frame = ipv6({ next: DST, payload: chain });
    const { status } = decodeOnce(frame.subarray(0, 40 + 36), raw, 76, frame.length);
    expect(status).toBe(Status.Truncated);
  });

  it("a header whose length runs past Payload Length is Malformed", () => {
    const { status } = decodeOnce(ipv6({ next: ROUTING, payload: extHeader(UDP, 4), payloadLength: 16 }), raw);
    expect(status).toBe(Status.Malformed);
  });

  it(`more than ${MAX_EXTENSION_HEADERS} extension headers is Malformed, even when they fit`, () => {
    const chain: number[] = [];
    for (let i = 0; i < MAX_EXTENSION_HEADERS + 1; i++) chain.push(...extHeader(DST));
    const { p, status } = decodeOnce(ipv6({ next: DST, payload: cat(chain, udp()) }), raw);
    expect(status).toBe(Status.Malformed);
    expect(p.message).toBe("IPv6 extension header chain too long");
  });

  it("garbage after the fixed header never throws", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const body = Array.from({ length: rnd() }, rnd);
      const frame = ipv6({ next: [HOP, ROUTING, DST, AH, FRAG][i % 5], payload: body });
      const { p, status } = decodeOnce(frame, raw);
      expect(Object.values(Status)).toContain(status);
      expect(p.message === "").toBe(status === Status.OK);
    }
  });
});
