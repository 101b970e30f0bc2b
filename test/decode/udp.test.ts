import { describe, expect, it } from "vitest";
import { hasTransport } from "../../src/decode/decode.js";
import { Status } from "../../src/decode/status.js";
import { decodeOnce, eth, ipv4, ipv6, payloadOf, ramp, udp } from "./build.js";

const v4 = (seg: Uint8Array) => eth(0x0800, ipv4({ proto: 17, payload: seg }));

describe("UDP (RFC 768)", () => {
  it("decodes ports and payload", () => {
    const { p, status } = decodeOnce(v4(udp({ sport: 123, dport: 123, payload: ramp(48) })));
    expect(status).toBe(Status.OK);
    expect(p.ipProto).toBe(17);
    expect(p.srcPort).toBe(123);
    expect(p.dstPort).toBe(123);
    expect(payloadOf(p)).toEqual(ramp(48));
    expect(hasTransport(p)).toBe(true);
  });

  it("an empty datagram has payloadLength 0", () => {
    const { p, status } = decodeOnce(v4(udp()));
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(0);
  });

  it("the length field bounds the payload (bytes after it inside the IP payload are not UDP)", () => {
    const seg = udp({ payload: ramp(10), length: 8 + 4 });
    const { p, status } = decodeOnce(v4(seg));
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual(ramp(4));
  });

  it("a length field beyond the IP payload is bounded by the IP payload (as Wireshark does)", () => {
    const { p, status } = decodeOnce(v4(udp({ payload: ramp(6), length: 400 })));
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual(ramp(6));
    expect(p.payloadMissing).toBe(0);
  });

  it.each([0, 7])("length field %i (below 8) is Malformed", (length) => {
    const { p, status } = decodeOnce(v4(udp({ payload: [1], length })));
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("udp");
    expect(hasTransport(p)).toBe(false);
  });

  it("an IP payload shorter than 8 bytes is Malformed", () => {
    const { status } = decodeOnce(v4(udp().subarray(0, 6)));
    expect(status).toBe(Status.Malformed);
  });

  it("header cut by snaplen is Truncated", () => {
    const frame = v4(udp({ payload: ramp(20) }));
    const { p, status } = decodeOnce(frame.subarray(0, 14 + 20 + 5), 1, 39, frame.length);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("udp");
  });

  it("snaplen cut: the captured payload plus payloadMissing", () => {
    const frame = v4(udp({ payload: ramp(1200) }));
    const caplen = 256;
    const { p, status } = decodeOnce(frame.subarray(0, caplen), 1, caplen, frame.length);
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(256 - 14 - 20 - 8);
    expect(p.payloadMissing).toBe(1200 - p.payloadLength);
    expect(payloadOf(p)).toEqual(ramp(p.payloadLength));
  });

  it("over IPv6", () => {
    const { p, status } = decodeOnce(eth(0x86dd, ipv6({ next: 17, payload: udp({ dport: 53, payload: [1, 2] }) })));
    expect(status).toBe(Status.OK);
    expect(p.dstPort).toBe(53);
    expect(payloadOf(p)).toEqual([1, 2]);
  });
});
