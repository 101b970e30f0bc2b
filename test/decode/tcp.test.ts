import { describe, expect, it } from "vitest";
import { hasTransport } from "../../src/decode/decode.js";
import { Status } from "../../src/decode/status.js";
import { Reason } from "../../src/decode/reason.js";
import { cat, decodeOnce, eth, ipv4, payloadOf, ramp, tcp, u16, u32 } from "./build.js";

const frameOf = (seg: Uint8Array) => eth(0x0800, ipv4({ proto: 6, payload: seg }));

/** A SYN's options as Linux sends them, plus a SACK block, with a comment per field. */
const allOptions = [
  2, 4, ...u16(1460), // MSS (kind 2, len 4) = 1460
  4, 2, // SACK permitted (kind 4, len 2)
  8, 10, ...u32(0xdeadbeef), ...u32(0x01020304), // timestamps (kind 8, len 10): TSval, TSecr
  1, // NOP
  3, 3, 7, // window scale (kind 3, len 3) = 7
  5, 10, ...u32(100), ...u32(200), // SACK (kind 5, len 10): one block, skipped
  1, // NOP
  0, // end of option list (32 bytes in all: a multiple of 4)
];

describe("TCP header (RFC 9293 §3.1)", () => {
  it("decodes ports, seq, ack, flags, window", () => {
    const seg = tcp({ sport: 51515, dport: 902, seq: 0xfffffff0, ack: 0x80000001, flags: 0x12, window: 29200 });
    const { p, status } = decodeOnce(frameOf(seg));
    expect(status).toBe(Status.OK);
    expect(p.srcPort).toBe(51515);
    expect(p.dstPort).toBe(902);
    expect(p.seq).toBe(0xfffffff0);
    expect(p.ack).toBe(0x80000001);
    expect(p.tcpFlags).toBe(0x12);
    expect(p.window).toBe(29200);
    expect(p.mss).toBe(-1);
    expect(p.windowScale).toBe(-1);
    expect(p.sackPermitted).toBe(false);
    expect(p.hasTimestamps).toBe(false);
    expect(hasTransport(p)).toBe(true);
  });

  it("decodes every option: MSS, SACK-permitted, timestamps, NOP, window scale, SACK, EOL", () => {
    const { p, status } = decodeOnce(frameOf(tcp({ options: allOptions, payload: [0x16, 0x03] })));
    expect(allOptions.length % 4).toBe(0);
    expect(status).toBe(Status.OK);
    expect(p.mss).toBe(1460);
    expect(p.sackPermitted).toBe(true);
    expect(p.hasTimestamps).toBe(true);
    expect(p.tsVal).toBe(0xdeadbeef);
    expect(p.tsEcr).toBe(0x01020304);
    expect(p.windowScale).toBe(7);
    expect(payloadOf(p)).toEqual([0x16, 0x03]);
  });

  it("stops at EOL: options after it are not read", () => {
    const opts = [
      0, // EOL
      2, 4, ...u16(536), // an MSS option after EOL: must be ignored
      0, // padding
    ];
    const { p, status } = decodeOnce(frameOf(tcp({ options: [...opts, 0, 0, 0] })));
    expect(status).toBe(Status.OK);
    expect(p.mss).toBe(-1);
  });

  it.each([
    ["length 0", [3, 3, 2, 2, 0, 0, 0, 0]],
    ["length 1", [3, 3, 2, 2, 1, 0, 0, 0]],
    ["length past the header", [3, 3, 2, 8, 10, 40, 0, 0]],
  ])("a malformed option (%s) stops parsing without failing the packet", (_n, opts) => {
    const { p, status } = decodeOnce(frameOf(tcp({ options: opts, payload: [1] })));
    expect(status).toBe(Status.OK);
    expect(p.windowScale).toBe(2); // the option before it was read
    expect(p.hasTimestamps).toBe(false);
    expect(payloadOf(p)).toEqual([1]);
  });

  it("a known option with the wrong length is skipped, the rest still read", () => {
    const opts = [
      2, 3, 0x05, // MSS with length 3: not believed
      3, 3, 9, // window scale 9
      1, 1, // NOPs
    ];
    const { p, status } = decodeOnce(frameOf(tcp({ options: opts })));
    expect(status).toBe(Status.OK);
    expect(p.mss).toBe(-1);
    expect(p.windowScale).toBe(9);
  });

  it.each([0, 4])("data offset %i (below 5) is Malformed, but the fixed fields count (tshark gives it a tcp.stream)", (doff) => {
    const { p, status } = decodeOnce(frameOf(tcp({ sport: 1234, dataOffset: doff })));
    expect(status).toBe(Status.Malformed);
    expect(p.failedLayer).toBe("tcp");
    expect(p.reason).toBe(Reason.TcpOffsetBelow5);
    expect(p.message).toBe("TCP data offset below 5");
    expect(p.srcPort).toBe(1234);
    expect(hasTransport(p)).toBe(true);
    expect(p.payloadLength).toBe(0);
  });

  it("data offset past the IP payload is Malformed, fixed fields still count", () => {
    const { p, status } = decodeOnce(frameOf(tcp({ dataOffset: 15 })));
    expect(status).toBe(Status.Malformed);
    expect(p.message).toBe("TCP data offset past the end of the IP payload");
    expect(hasTransport(p)).toBe(true);
  });

  // tshark 4.0 gives a segment a tcp.stream once the 16 bytes up to the window are there, whether
  // the rest was cut by the snaplen or the IP payload itself is short; below 16 it never does.
  it.each(Array.from({ length: 21 }, (_, n) => n))("%i TCP bytes: fields and hasTransport from 16 on", (n) => {
    const seg = tcp({ sport: 3000, flags: 0x02 });
    const cut = frameOf(seg);
    const a = decodeOnce(cut.subarray(0, 34 + n), 1, 34 + n, cut.length); // cut by the snaplen
    const b = decodeOnce(frameOf(seg.subarray(0, n))); // IP payload of n bytes, all captured
    for (const { p, status } of [a, b]) {
      if (n < 20) expect(status).not.toBe(Status.OK);
      expect(hasTransport(p)).toBe(n >= 16);
      expect(p.srcPort).toBe(n >= 16 ? 3000 : 0);
      expect(p.tcpFlags).toBe(n >= 16 ? 0x02 : 0);
    }
    if (n < 20) {
      expect(a.status).toBe(Status.Truncated);
      expect(b.status).toBe(Status.Malformed);
    }
  });

  it("options cut by snaplen: Truncated, but ports/seq/flags filled and hasTransport", () => {
    // A SYN with 20 bytes of options cut at 68 bytes, as in snaplen-68 captures.
    const frame = frameOf(tcp({ sport: 4000, dport: 25, seq: 77, flags: 0x02, options: allOptions.slice(0, 20) }));
    const { p, status } = decodeOnce(frame.subarray(0, 68 - 14), 1, 54, frame.length);
    expect(status).toBe(Status.Truncated);
    expect(p.reason).toBe(Reason.TcpOptionsCut);
    expect(p.message).toBe("TCP options cut by snaplen");
    expect(p.srcPort).toBe(4000);
    expect(p.dstPort).toBe(25);
    expect(p.seq).toBe(77);
    expect(p.tcpFlags).toBe(0x02);
    expect(hasTransport(p)).toBe(true);
  });

  it("options cut mid-option: those before the cut are read", () => {
    const frame = frameOf(tcp({ options: allOptions, payload: ramp(10) }));
    const caplen = 14 + 20 + 20 + 8; // MSS, SACK-permitted, then timestamps cut after 2 of 10 bytes
    const { p, status } = decodeOnce(frame.subarray(0, caplen), 1, caplen, frame.length);
    expect(status).toBe(Status.Truncated);
    expect(p.mss).toBe(1460);
    expect(p.sackPermitted).toBe(true);
    expect(p.hasTimestamps).toBe(false);
    expect(p.payloadMissing).toBe(10);
  });

  it("payload cut by snaplen: the captured part plus payloadMissing", () => {
    const frame = frameOf(tcp({ flags: 0x18, payload: ramp(1000) }));
    const caplen = 14 + 20 + 20 + 200;
    const { p, status } = decodeOnce(frame.subarray(0, caplen), 1, caplen, frame.length);
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual(ramp(200));
    expect(p.payloadMissing).toBe(800);
  });

  it("the payload view is into the frame's buffer (borrowed, not copied)", () => {
    const frame = frameOf(tcp({ payload: [1, 2, 3] }));
    const { p } = decodeOnce(frame);
    expect(p.payloadBuf).toBe(frame);
    expect(p.payloadOffset).toBe(54);
  });

  it("payload = IP payload − header, bounded by the IP Total Length", () => {
    const frame = cat(frameOf(tcp({ options: [1, 1, 1, 0], payload: [7, 7] })), [0, 0, 0, 0]);
    const { p } = decodeOnce(frame);
    expect(payloadOf(p)).toEqual([7, 7]);
  });
});
