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

export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;
export const SLL_HEADER_LEN = 16;
export const SLL2_HEADER_LEN = 20;

/** Returns the offset of the network layer with out.etherType set, or -1 after out.fail(). */
export function decodeSll(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < SLL_HEADER_LEN) {
    out.fail(Status.Truncated, "sll", "Linux cooked (SLL) header cut (fewer than 16 bytes)");
    return -1;
  }
  const protocol = (data[s + 14] << 8) | data[s + 15];
  return decodeVlanTags(data, s + SLL_HEADER_LEN, end, protocol, out);
}

/** Returns the offset of the network layer with out.etherType set, or -1 after out.fail(). */
export function decodeSll2(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < SLL2_HEADER_LEN) {
    out.fail(Status.Truncated, "sll2", "Linux cooked v2 (SLL2) header cut (fewer than 20 bytes)");
    return -1;
  }
  const protocol = (data[s] << 8) | data[s + 1];
  return decodeVlanTags(data, s + SLL2_HEADER_LEN, end, protocol, out);
}
