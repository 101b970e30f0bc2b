import { describe, expect, it } from "vitest";
import { Status } from "../../src/decode/status.js";
import { cat, decodeOnce, fill, ipv4, ipv6, payloadOf, tcp, u16, u32, udp, vlanTag } from "./build.js";

/** Linux cooked v1 header (LINKTYPE 113), 16 bytes. */
function sll(protocol: number): number[] {
  return [
    ...u16(0), // packet type: 0 = to us
    ...u16(1), // ARPHRD type: 1 = Ethernet
    ...u16(6), // link-layer address length
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0, // address, padded to 8
    ...u16(protocol), // protocol (EtherType)
  ];
}

/** Linux cooked v2 header (LINKTYPE 276), 20 bytes. */
function sll2(protocol: number): number[] {
  return [
    ...u16(protocol), // protocol (EtherType)
    ...u16(0), // reserved
    ...u32(3), // interface index
    ...u16(1), // ARPHRD type: Ethernet
    4, // packet type: 4 = outgoing
    6, // link-layer address length
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0, 0, // address, padded to 8
  ];
}

describe("Linux cooked capture SLL (LINKTYPE 113)", () => {
  it("reads the protocol at offset 14 and decodes IPv4/TCP", () => {
    const { p, status } = decodeOnce(cat(sll(0x0800), ipv4({ proto: 6, payload: tcp({ dport: 25, payload: [0x45] }) })), 113);
    expect(status).toBe(Status.OK);
    expect(p.etherType).toBe(0x0800);
    // The cooked header's link-layer address is the sender's MAC; the destination is not in it.
    expect(p.hasMac).toBe(true);
    expect([...p.srcMac]).toEqual([0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]);
    expect([...p.dstMac]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(p.dstPort).toBe(25);
    expect(payloadOf(p)).toEqual([0x45]);
  });

  it("keeps no MAC when the address is loopback's zeros or not 6 bytes long", () => {
    const zeros = [...u16(4), ...u16(772), ...u16(6), 0, 0, 0, 0, 0, 0, 0, 0, ...u16(0x0800)]; // outgoing, ARPHRD_LOOPBACK, 6 zero bytes
    expect(decodeOnce(cat(zeros, ipv4({ proto: 17, payload: udp() })), 113).p.hasMac).toBe(false);
    const eight = [...u16(0), ...u16(1), ...u16(8), 1, 2, 3, 4, 5, 6, 7, 8, ...u16(0x0800)]; // an 8-byte address is no MAC
    expect(decodeOnce(cat(eight, ipv4({ proto: 17, payload: udp() })), 113).p.hasMac).toBe(false);
  });

  it("decodes IPv6", () => {
    const { p, status } = decodeOnce(cat(sll(0x86dd), ipv6({ next: 17, payload: udp() })), 113);
    expect(status).toBe(Status.OK);
    expect(p.ipVersion).toBe(6);
    expect(p.ipProto).toBe(17);
  });

  it("follows a VLAN tag the kernel left in place", () => {
    const { p, status } = decodeOnce(cat(sll(0x8100), vlanTag(30, 0x0800), ipv4({ proto: 17, payload: udp() })), 113);
    expect(status).toBe(Status.OK);
    expect(p.vlanIds[0]).toBe(30);
    expect(p.ipVersion).toBe(4);
  });

  it.each([
    ["ARP", 0x0806],
    ["802.2 LLC pseudo-protocol", 0x0004],
  ])("%s is Unsupported with its protocol as etherType", (_n, proto) => {
    const { p, status } = decodeOnce(cat(sll(proto), fill(28, 0)), 113);
    expect(status).toBe(Status.Unsupported);
    expect(p.etherType).toBe(proto);
  });

  it("a header shorter than 16 bytes is Truncated", () => {
    const { p, status } = decodeOnce(new Uint8Array(sll(0x0800).slice(0, 15)), 113);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("sll");
  });
});

describe("Linux cooked capture SLL2 (LINKTYPE 276)", () => {
  it("reads the protocol at offset 0 and decodes IPv4/UDP", () => {
    const { p, status } = decodeOnce(cat(sll2(0x0800), ipv4({ proto: 17, payload: udp({ sport: 123, dport: 123 }) })), 276);
    expect(status).toBe(Status.OK);
    expect(p.etherType).toBe(0x0800);
    expect(p.srcPort).toBe(123);
  });

  it("decodes IPv6/TCP", () => {
    const { p, status } = decodeOnce(cat(sll2(0x86dd), ipv6({ next: 6, payload: tcp({ sport: 1234 }) })), 276);
    expect(status).toBe(Status.OK);
    expect(p.srcPort).toBe(1234);
  });

  it("ARP is Unsupported", () => {
    const { p, status } = decodeOnce(cat(sll2(0x0806), fill(28, 0)), 276);
    expect(status).toBe(Status.Unsupported);
    expect(p.etherType).toBe(0x0806);
  });

  it("a header shorter than 20 bytes is Truncated", () => {
    const { p, status } = decodeOnce(new Uint8Array(sll2(0x0800).slice(0, 19)), 276);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("sll2");
  });
});
