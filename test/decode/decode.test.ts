import { describe, expect, it } from "vitest";
import { DecodeContext, decodePacket, hasTransport, SUPPORTED_LINK_TYPES } from "../../src/decode/decode.js";
import { DecodedPacket } from "../../src/decode/packet.js";
import { Status } from "../../src/decode/status.js";
import { cat, eth, extHeader, fill, ipv4, ipv6, ramp, record, tcp, u16, udp, vlanTag } from "./build.js";

const T0 = 1_700_000_000;

const tcpOptions = [
  2, 4, ...u16(1460), // MSS 1460
  1, // NOP
  3, 3, 8, // window scale 8
  4, 2, // SACK permitted
  1, 1, // NOPs to a multiple of 4
];
// Ethernet (14) + IPv4 with 4 option bytes (24) + TCP with 12 option bytes (32) + 50 bytes of data.
const fullTcpFrame = eth(0x0800, ipv4({ proto: 6, options: [1, 1, 1, 0], payload: tcp({ flags: 0x18, options: tcpOptions, payload: ramp(50) }) }));
const HEADERS = 14 + 24 + 32;

describe("a full TCP/IPv4 frame truncated at every byte offset", () => {
  it("never throws; Truncated (at the right layer) until the TCP header is whole, then OK with payloadMissing", () => {
    expect(fullTcpFrame.length).toBe(HEADERS + 50);
    const p = new DecodedPacket();
    const ctx = new DecodeContext();
    const frags = ctx.frags;
    for (let caplen = 0; caplen <= fullTcpFrame.length; caplen++) {
      const data = fullTcpFrame.slice(0, caplen); // a fresh, exactly sized buffer: reads past it would show
      const status = decodePacket(record(data, caplen, fullTcpFrame.length, 1, T0), p, ctx);
      if (caplen < HEADERS) {
        expect(status, `caplen ${caplen}`).toBe(Status.Truncated);
        const layer = caplen < 14 ? "ethernet" : caplen < 38 ? "ipv4" : "tcp";
        expect(p.failedLayer, `caplen ${caplen}`).toBe(layer);
        expect(hasTransport(p), `caplen ${caplen}`).toBe(caplen >= 38 + 16); // see tcp.test.ts
      } else {
        expect(status, `caplen ${caplen}`).toBe(Status.OK);
        expect(p.payloadLength).toBe(caplen - HEADERS);
        expect(p.payloadMissing).toBe(fullTcpFrame.length - caplen);
        expect(p.mss).toBe(1460);
      }
    }
  });

  it("the same for IPv6 with extension headers and UDP", () => {
    const frame = eth(0x86dd, ipv6({ next: 0, payload: cat(extHeader(60), extHeader(17, 1), udp({ payload: ramp(30) })) }));
    const headers = 14 + 40 + 8 + 16 + 8;
    const p = new DecodedPacket();
    const ctx = new DecodeContext();
    const frags = ctx.frags;
    for (let caplen = 0; caplen <= frame.length; caplen++) {
      const status = decodePacket(record(frame.slice(0, caplen), caplen, frame.length, 1, T0), p, ctx);
      expect(status, `caplen ${caplen}`).toBe(caplen < headers ? Status.Truncated : Status.OK);
      if (caplen >= headers) expect(p.payloadMissing).toBe(frame.length - caplen);
    }
  });

  it("caplen 0, negative or NaN, and origLen below caplen, are handled", () => {
    const p = new DecodedPacket();
    const ctx = new DecodeContext();
    const frags = ctx.frags;
    expect(decodePacket(record(fullTcpFrame, 0, 100, 1, T0), p, ctx)).toBe(Status.Truncated);
    expect(decodePacket(record(fullTcpFrame, -5, 100, 1, T0), p, ctx)).toBe(Status.Truncated);
    expect(decodePacket(record(fullTcpFrame, Number.NaN, 100, 1, T0), p, ctx)).toBe(Status.Truncated);
    expect(decodePacket(record(fullTcpFrame, fullTcpFrame.length, 10, 1, T0), p, ctx)).toBe(Status.OK);
    expect(p.payloadMissing).toBe(0);
  });
});

describe("the reused DecodedPacket", () => {
  it("carries nothing over from the previous packet", () => {
    const p = new DecodedPacket();
    const ctx = new DecodeContext();
    const frags = ctx.frags;
    const syn = eth(0x8100, cat(vlanTag(5, 0x0800), ipv4({ proto: 6, payload: tcp({ options: tcpOptions, payload: [1] }) })));
    decodePacket(record(syn, syn.length, syn.length, 1, T0), p, ctx);
    expect(p.mss).toBe(1460);
    expect(p.vlanCount).toBe(1);

    const dgram = eth(0x0800, ipv4({ proto: 17, payload: udp({ sport: 9 }) }));
    expect(decodePacket(record(dgram, dgram.length, dgram.length, 1, T0), p, ctx)).toBe(Status.OK);
    expect(p.vlanCount).toBe(0);
    expect(p.mss).toBe(-1);
    expect(p.windowScale).toBe(-1);
    expect(p.sackPermitted).toBe(false);
    expect(p.tcpFlags).toBe(0);
    expect(p.payloadLength).toBe(0);
    expect(p.srcPort).toBe(9);

    const arp = eth(0x0806, fill(28, 0));
    expect(decodePacket(record(arp, arp.length, arp.length, 1, T0), p, ctx)).toBe(Status.Unsupported);
    expect(p.ipVersion).toBe(0);
    expect(p.ipProto).toBe(0);
    expect(p.srcPort).toBe(0);
    expect(p.message).not.toBe("");

    const raw = ipv6({ next: 17, payload: udp() });
    expect(decodePacket(record(raw, raw.length, raw.length, 229, T0), p, ctx)).toBe(Status.OK);
    expect(p.hasMac).toBe(false);
    expect(p.message).toBe("");
    expect(p.failedLayer).toBe("");
  });
});

describe("hasTransport", () => {
  it("is false for ICMP, non-IP and held fragments, true for TCP/UDP", () => {
    const decode = (f: Uint8Array, lt = 1) => {
      const p = new DecodedPacket();
      decodePacket(record(f, f.length, f.length, lt, T0), p, new DecodeContext());
      return p;
    };
    expect(hasTransport(decode(eth(0x0800, ipv4({ proto: 6, payload: tcp() }))))).toBe(true);
    expect(hasTransport(decode(eth(0x0800, ipv4({ proto: 17, payload: udp() }))))).toBe(true);
    expect(hasTransport(decode(eth(0x0800, ipv4({ proto: 1, payload: [8, 0, 0, 0, 0, 0, 0, 0] }))))).toBe(false);
    expect(hasTransport(decode(eth(0x0806, fill(28))))).toBe(false);
    expect(hasTransport(decode(eth(0x0800, ipv4({ proto: 17, more: true, payload: udp({ payload: fill(8) }) }))))).toBe(false);
  });
});

describe("garbage never throws", () => {
  it("random bytes on every supported link type and a few unsupported ones", () => {
    let seed = 0x9e3779b9;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) & 0xff;
    };
    const p = new DecodedPacket();
    const ctx = new DecodeContext();
    const frags = ctx.frags;
    const statuses = new Set<number>();
    const linkTypes = [...SUPPORTED_LINK_TYPES, 105, 147];
    // Valid headers with random tails reach deeper layers than pure noise would.
    const prefixes = [
      [],
      Array.from(eth(0x0800, ipv4({ proto: 6, payload: [] })).subarray(0, 34)),
      Array.from(eth(0x86dd, ipv6({ next: 44, payload: [] })).subarray(0, 54)),
      Array.from(ipv4({ proto: 17, payload: [] })),
      Array.from(ipv4({ proto: 1, payload: [3, 3, 0, 0, 0, 0, 0, 0] })),
      Array.from(ipv6({ next: 58, payload: [1, 4, 0, 0, 0, 0, 0, 0] })),
    ];
    const failures: string[] = [];
    for (let i = 0; i < 30000; i++) {
      const prefix = prefixes[i % prefixes.length];
      const tail = Array.from({ length: rnd() + (rnd() & 1 ? rnd() : 0) }, rnd);
      const data = new Uint8Array([...prefix, ...tail]);
      const caplen = rnd() < 200 ? data.length : rnd() % (data.length + 1);
      const lt = linkTypes[rnd() % linkTypes.length];
      const status = decodePacket(record(data.subarray(0, caplen), caplen, data.length + (rnd() & 3), lt, T0 + (i >> 8)), p, ctx);
      statuses.add(status);
      // Plain checks in the loop (expect() per iteration is slow); failures are listed at the end.
      if (
        !Object.values(Status).includes(status) ||
        p.status !== status ||
        (p.message === "") !== (status === Status.OK) ||
        p.payloadOffset + p.payloadLength > p.payloadBuf.length ||
        p.payloadLength < 0 ||
        p.payloadMissing < 0
      ) {
        failures.push(`#${i} lt ${lt} caplen ${caplen}: status ${status} ${p.failedLayer} ${p.message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(frags.bytesHeld).toBeLessThanOrEqual(frags.limits.maxBytes);
    // The fuzz reached every outcome, so it is not stuck at the first layer.
    expect([...statuses].sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
