/**
 * Linux "cooked" captures (the "any" device): LINKTYPE_LINUX_SLL (113) and LINKTYPE_LINUX_SLL2
 * (276), as described on tcpdump.org's link-layer header type pages.
 *
 * SLL, 16 bytes: packet type (2), ARPHRD type (2), link-layer address length (2), address (8,
 * padded), protocol (2) at offset 14.
 * SLL2, 20 bytes: protocol (2) at offset 0, reserved (2), interface index (4), ARPHRD type (2),
 * packet type (1), address length (1), address (8).
 *
 * The protocol is an EtherType for IP (0x0800, 0x86dd); small values (1 = Novell 802.3, 4 = 802.2
 * LLC, …) are Linux pseudo-protocols that carry no IP. A VLAN tag the kernel did not strip can follow.
 */
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { decodeVlanTags } from "./vlan.js";
import { Reason } from "./reason.js";

export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;
export const SLL_HEADER_LEN = 16;
export const SLL2_HEADER_LEN = 20;

/**
 * The sender's link-layer address, when it is a 6-byte MAC that is not all zeros (loopback's):
 * for outgoing packets the capturing host's own, for incoming ones the sender's — the source MAC
 * an Ethernet header would carry. The destination is not in a cooked header.
 */
function senderMac(data: Uint8Array, lenAt: number, lenBytes: 1 | 2, addrAt: number, out: DecodedPacket): void {
  const len = lenBytes === 2 ? (data[lenAt] << 8) | data[lenAt + 1] : data[lenAt];
  if (len !== 6) return;
  let any = 0;
  for (let i = 0; i < 6; i++) any |= data[addrAt + i];
  if (any === 0) return;
  for (let i = 0; i < 6; i++) out.srcMac[i] = data[addrAt + i];
  out.dstMac.fill(0);
  out.hasMac = true;
}

/** Returns the offset of the network layer with out.etherType set, or -1 after out.fail(). */
export function decodeSll(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < SLL_HEADER_LEN) {
    out.fail(Status.Truncated, "sll", Reason.SllCut);
    return -1;
  }
  const protocol = (data[s + 14] << 8) | data[s + 15];
  senderMac(data, s + 4, 2, s + 6, out);
  return decodeVlanTags(data, s + SLL_HEADER_LEN, end, protocol, out);
}

/** Returns the offset of the network layer with out.etherType set, or -1 after out.fail(). */
export function decodeSll2(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < SLL2_HEADER_LEN) {
    out.fail(Status.Truncated, "sll2", Reason.Sll2Cut);
    return -1;
  }
  const protocol = (data[s] << 8) | data[s + 1];
  senderMac(data, s + 11, 1, s + 12, out);
  return decodeVlanTags(data, s + SLL2_HEADER_LEN, end, protocol, out);
}
