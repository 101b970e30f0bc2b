import { describe, expect, it } from "vitest";
import { Status } from "../../src/decode/status.js";
import { cat, decodeOnce, eth, fill, IP4_A, IP4_B, ipv4, ipv6, MAC_DST, MAC_SRC, payloadOf, tcp, u16, udp } from "./build.js";

describe("Ethernet II (LINKTYPE 1)", () => {
  it("decodes MACs, EtherType and the IPv4 layer", () => {
    const { p, status } = decodeOnce(eth(0x0800, ipv4({ proto: 17, payload: udp({ payload: [1, 2, 3] }) })));
    expect(status).toBe(Status.OK);
    expect(p.linkType).toBe(1);
    expect(p.hasMac).toBe(true);
    expect(Array.from(p.dstMac)).toEqual(MAC_DST);
    expect(Array.from(p.srcMac)).toEqual(MAC_SRC);
    expect(p.etherType).toBe(0x0800);
    expect(p.vlanCount).toBe(0);
    expect(p.ipVersion).toBe(4);
    expect(Array.from(p.srcIp.subarray(0, 4))).toEqual(IP4_A);
    expect(Array.from(p.dstIp.subarray(0, 4))).toEqual(IP4_B);
    expect(payloadOf(p)).toEqual([1, 2, 3]);
  });

  it("decodes the IPv6 EtherType", () => {
    const { p, status } = decodeOnce(eth(0x86dd, ipv6({ next: 6, payload: tcp() })));
    expect(status).toBe(Status.OK);
    expect(p.etherType).toBe(0x86dd);
    expect(p.ipVersion).toBe(6);
    expect(p.ipProto).toBe(6);
  });

  it.each([
    ["ARP", 0x0806],
    ["LLDP", 0x88cc],
    ["MPLS", 0x8847],
  ])("reports %s as Unsupported with its EtherType", (_name, type) => {
    const { p, status } = decodeOnce(eth(type, fill(28, 0)));
    expect(status).toBe(Status.Unsupported);
    expect(p.etherType).toBe(type);
    expect(p.ipVersion).toBe(0);
    expect(p.failedLayer).toBe("link");
  });

  it("reports an IEEE 802.3 frame (length field < 1536, LLC) as Unsupported", () => {
    const llc = [
      0x42, // DSAP: spanning tree
      0x42, // SSAP
      0x03, // control: UI
      ...fill(35, 0), // BPDU
    ];
    const { p, status } = decodeOnce(eth(llc.length, llc));
    expect(status).toBe(Status.Unsupported);
    expect(p.failedLayer).toBe("ethernet");
    expect(p.etherType).toBe(0);
  });

  it.each([0, 1, 6, 12, 13])("a frame of %i bytes is Truncated at the Ethernet layer", (n) => {
    const frame = eth(0x0800, ipv4({ proto: 6, payload: tcp() })).subarray(0, n);
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("ethernet");
  });

  it("does not count Ethernet padding as payload (IPv4 Total Length bounds it)", () => {
    // 14 + 20 + 8 + 2 = 44 bytes; the sender pads the frame to the 60-byte minimum.
    const frame = cat(eth(0x0800, ipv4({ proto: 17, payload: udp({ payload: [0xde, 0xad] }) })), fill(16, 0));
    expect(frame.length).toBe(60);
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual([0xde, 0xad]);
    expect(p.payloadMissing).toBe(0);
  });

  it("does not count Ethernet padding as TCP payload", () => {
    const frame = cat(eth(0x0800, ipv4({ proto: 6, payload: tcp({ flags: 0x10 }) })), fill(6, 0));
    expect(frame.length).toBe(60);
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(0);
    expect(p.payloadMissing).toBe(0);
  });

  it("does not count Ethernet padding as IPv6 payload", () => {
    const frame = cat(eth(0x86dd, ipv6({ next: 17, payload: udp({ payload: [7] }) })), fill(4, 0));
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(payloadOf(p)).toEqual([7]);
  });

  it("reads only the first caplen bytes even when the buffer is longer", () => {
    const full = eth(0x0800, ipv4({ proto: 17, payload: udp({ payload: fill(100) }) }));
    const { p, status } = decodeOnce(full, 1, 14 + 20 + 8 + 10, full.length);
    expect(status).toBe(Status.OK);
    expect(p.payloadLength).toBe(10);
    expect(p.payloadMissing).toBe(90);
  });

  it("never reads past the buffer when caplen claims more than it holds", () => {
    const frame = eth(0x0800, ipv4({ proto: 17, payload: udp({ payload: fill(20) }) }));
    const { p, status } = decodeOnce(frame.subarray(0, 40), 1, 1000, 1000);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("udp");
  });

  it("type field is read big-endian", () => {
    // 0x0008 would be an 802.3 length; 0x0800 is IPv4.
    const frame = cat(MAC_DST, MAC_SRC, u16(0x0800), ipv4({ proto: 17, payload: udp() }));
    expect(decodeOnce(frame).status).toBe(Status.OK);
  });
});
