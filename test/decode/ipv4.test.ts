import { describe, expect, it } from "vitest";
import { Status } from "../../src/decode/status.js";
import { cat, decodeOnce, eth, fill, IP4_A, IP4_B, ipv4, payloadOf, ramp, tcp, udp } from "./build.js";

const raw = 228; // LINKTYPE_IPV4: no link header, so offsets below are IP offsets

describe("IPv4 header (RFC 791 §3.1)", () => {
  it("copies addresses, TTL and protocol", () => {
    const { p, status } = decodeOnce(ipv4({ proto: 17, ttl: 3, src: IP4_B, dst: IP4_A, payload: udp() }), raw);
    expect(status).toBe(Status.OK);
    expect(p.ipVersion).toBe(4);
    expect(p.ttl).toBe(3);
    expect(p.ipProto).toBe(17);
    expect(Array.from(p.srcIp.subarray(0, 4))).toEqual(IP4_B);
    expect(Array.from(p.dstIp.subarray(0, 4))).toEqual(IP4_A);
    expect(p.wasFragment).toBe(false);
  });

  it("addresses are copies that outlive the buffer", () => {
    const frame = ipv4({ proto: 17, payload: udp() });
    const { p } = decodeOnce(frame, raw);
    frame.fill(0);
    expect(Array.from(p.srcIp.subarray(0, 4))).toEqual(IP4_A);
  });

  it.each([
    ["4 bytes (NOP ×3 + EOL)", [0x01, 0x01, 0x01, 0x00]],
    ["8 bytes (record route, 1 slot)", [0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00]],
    ["40 bytes (IHL 15, the maximum)", [0x01, ...fill(38, 0x01), 0x00]],
  ])("skips options: %s", (_n, options) => {
    const { p, status } = decodeOnce(ipv4({ proto: 17, options, payload: udp({ sport: 7, payload: [1, 2] }) }), raw);
    expect(status).toBe(Status.OK);
    expect(p.srcPort).toBe(7);
    expect(payloadOf(p)).toEqual([1, 2]);
  });

  it.each([0, 1, 4])("IHL %i (below 5) is Malformed", (ihl) => {
    const { p, status } = decodeOnce(ipv4({ proto: 17, ihl, payload: udp() }), raw);
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("ipv4");
    expect(p.message).toBe("IPv4 header length (IHL) below 5");
  });

  it("IHL past the Total Length is Malformed", () => {
    const { status, p } = decodeOnce(ipv4({ proto: 17, ihl: 6, payload: [], totalLength: 20 }), raw);
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("ipv4");
  });

  it("options cut by the capture are Truncated", () => {
    const frame = ipv4({ proto: 17, options: fill(8, 1), payload: udp() });
    const { p, status } = decodeOnce(frame.subarray(0, 24), raw, 24, frame.length);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("ipv4");
  });

  it("Total Length below the header length is Malformed", () => {
    const { status } = decodeOnce(ipv4({ proto: 17, payload: udp(), totalLength: 19 }), raw);
    expect(status).toBe(Status.Malformed);
  });

  it("a header cut before 20 bytes is Truncated", () => {
    const { status, p } = decodeOnce(ipv4({ proto: 17, payload: udp() }).subarray(0, 19), raw);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("ipv4");
  });

  it("version other than 4 is Malformed", () => {
    expect(decodeOnce(eth(0x0800, ipv4({ proto: 17, payload: udp(), version: 6 }))).status).toBe(Status.Malformed);
  });

  it("Total Length bounds the payload (bytes after it are not IP)", () => {
    const frame = cat(ipv4({ proto: 17, payload: udp({ payload: [1, 2, 3] }) }), [0xff, 0xff, 0xff, 0xff]);
    const { p } = decodeOnce(frame, raw);
    expect(payloadOf(p)).toEqual([1, 2, 3]);
  });

  it("snaplen cut: the transport sees what was captured, payloadMissing the rest", () => {
    const frame = ipv4({ proto: 6, payload: tcp({ flags: 0x18, payload: ramp(100) }) });
    const caplen = 20 + 20 + 30;
    const { p, status } = decodeOnce(frame.subarray(0, caplen), raw, caplen, frame.length);
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual(ramp(30));
    expect(p.payloadMissing).toBe(70);
  });

  it("a Total Length longer than the frame on the wire is believed only up to the frame", () => {
    const frame = ipv4({ proto: 17, payload: udp({ payload: [5, 6] }), totalLength: 1500 });
    const { p, status } = decodeOnce(frame, raw);
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual([5, 6]);
    expect(p.payloadMissing).toBe(0);
  });

  it("Total Length 0 (segmentation offload on the sender) uses the frame length", () => {
    const frame = ipv4({ proto: 6, payload: tcp({ flags: 0x18, payload: ramp(3000) }), totalLength: 0 });
    const { p, status } = decodeOnce(frame, raw);
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(3000);
  });

  it("an IP protocol not decoded (GRE) is Unsupported with ipProto and the IP payload", () => {
    const { p, status } = decodeOnce(ipv4({ proto: 47, payload: [0, 0, 0x08, 0x00, 0x45] }), raw);
    expect(status).toBe(Status.Unsupported);
    expect(p.failedLayer).toBe("ipv4");
    expect(p.ipProto).toBe(47);
    expect(payloadOf(p)).toEqual([0, 0, 0x08, 0x00, 0x45]);
  });

  it("DF alone is not a fragment", () => {
    const { p, status } = decodeOnce(ipv4({ proto: 17, dontFragment: true, payload: udp() }), raw);
    expect(status).toBe(Status.OK);
    expect(p.wasFragment).toBe(false);
  });
});
