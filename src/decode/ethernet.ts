/**
 * Ethernet II (DIX) frames, LINKTYPE_ETHERNET (1).
 *
 * Header: destination MAC (6), source MAC (6), EtherType (2). A value below 1536 (0x0600) in the
 * type position is an IEEE 802.3 length, and an LLC header follows (IEEE 802.3 §3.2.6); those frames
 * (STP, CDP, NetBIOS over LLC, …) carry no IP and are reported as Unsupported. The frame check
 * sequence is normally absent from captures and is not looked for.
 */
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { decodeVlanTags } from "./vlan.js";
import { Reason } from "./reason.js";

export const ETHERNET_HEADER_LEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Smallest EtherType; smaller values in the type field are 802.3 lengths. */
export const ETHERTYPE_MIN = 0x0600;

/**
 * Decode the Ethernet header (and any VLAN tags) of data[s, end). Sets the MACs and out.etherType;
 * returns the offset of the network layer, or -1 after out.fail(). `s` lets the caller decode a
 * frame in place inside a larger buffer (the reader's chunk) without a view per packet.
 */
export function decodeEthernet(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < ETHERNET_HEADER_LEN) {
    out.fail(Status.Truncated, "ethernet", Reason.EthernetCut);
    return -1;
  }
  // Copied byte by byte: subarray() would allocate a view per packet.
  for (let i = 0; i < 6; i++) {
    out.dstMac[i] = data[s + i];
    out.srcMac[i] = data[s + 6 + i];
  }
  out.hasMac = true;
  const type = (data[s + 12] << 8) | data[s + 13];
  const off = decodeVlanTags(data, s + ETHERNET_HEADER_LEN, end, type, out);
  if (off < 0) return -1;
  if (out.etherType < ETHERTYPE_MIN) {
    // A length, not a type: 802.3 with LLC (also possible inside a VLAN tag).
    out.etherType = 0;
    out.fail(Status.Unsupported, "ethernet", Reason.Ieee8023Length);
    return -1;
  }
  return off;
}
