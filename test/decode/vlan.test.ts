import { describe, expect, it } from "vitest";
import { Status } from "../../src/decode/status.js";
import { cat, decodeOnce, eth, fill, ipv4, ipv6, payloadOf, tcp, udp, vlanTag } from "./build.js";

const udpV4 = ipv4({ proto: 17, payload: udp({ payload: [9, 8, 7] }) });

describe("802.1Q / 802.1ad VLAN tags", () => {
  it.each([
    ["802.1Q", 0x8100],
    ["802.1ad", 0x88a8],
    ["pre-standard QinQ", 0x9100],
  ])("single %s tag", (_n, tpid) => {
    const { p, status } = decodeOnce(eth(tpid, cat(vlanTag(100, 0x0800, 5), udpV4)));
    expect(status).toBe(Status.OK);
    expect(p.vlanCount).toBe(1);
    expect(p.vlanIds[0]).toBe(100);
    expect(p.etherType).toBe(0x0800);
    expect(payloadOf(p)).toEqual([9, 8, 7]);
  });

  it("double tag (QinQ): outer S-tag then inner C-tag, outermost first", () => {
    const frame = eth(0x88a8, cat(vlanTag(200, 0x8100), vlanTag(4094, 0x86dd), ipv6({ next: 6, payload: tcp() })));
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(p.vlanCount).toBe(2);
    expect(p.vlanIds).toEqual([200, 4094]);
    expect(p.ipVersion).toBe(6);
    expect(p.dstPort).toBe(443);
  });

  it("triple tag: keeps the first two IDs and still reaches IPv4", () => {
    const frame = eth(0x88a8, cat(vlanTag(1, 0x8100), vlanTag(2, 0x8100), vlanTag(3, 0x0800), udpV4));
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.OK);
    expect(p.vlanCount).toBe(2);
    expect(p.vlanIds).toEqual([1, 2]);
    expect(payloadOf(p)).toEqual([9, 8, 7]);
  });

  it("the PCP/DEI bits are not part of the VLAN ID", () => {
    const frame = eth(0x8100, cat([0xf0, 0x2a, 0x08, 0x00], udpV4)); // PCP 7, DEI 1, VID 42
    const { p } = decodeOnce(frame);
    expect(p.vlanIds[0]).toBe(42);
  });

  it("a tag cut by the capture is Truncated", () => {
    const frame = eth(0x8100, cat(vlanTag(10, 0x0800), udpV4)).subarray(0, 16);
    const { p, status } = decodeOnce(frame);
    expect(status).toBe(Status.Truncated);
    expect(p.failedLayer).toBe("vlan");
  });

  it("ARP inside a VLAN is Unsupported with the inner EtherType", () => {
    const { p, status } = decodeOnce(eth(0x8100, cat(vlanTag(7, 0x0806), fill(28, 0))));
    expect(status).toBe(Status.Unsupported);
    expect(p.etherType).toBe(0x0806);
    expect(p.vlanIds[0]).toBe(7);
  });

  it("an 802.3 length inside a VLAN tag is LLC, Unsupported", () => {
    const { p, status } = decodeOnce(eth(0x8100, cat(vlanTag(7, 0x0026), fill(38, 0))));
    expect(status).toBe(Status.Unsupported);
    expect(p.failedLayer).toBe("ethernet");
  });

  it("a frame of nothing but tags ends Truncated, not in a loop", () => {
    const tags: number[] = [];
    for (let i = 0; i < 300; i++) tags.push(...vlanTag(i & 0xfff, 0x8100));
    const { p, status } = decodeOnce(eth(0x8100, tags));
    expect(status).toBe(Status.Truncated);
    expect(p.vlanCount).toBe(2);
  });
});
