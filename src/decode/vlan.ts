/**
 * IEEE 802.1Q VLAN tags and 802.1ad (QinQ) service tags.
 *
 * A tag sits where the EtherType would be: a 2-byte TPID (0x8100 for 802.1Q, 0x88a8 for 802.1ad,
 * 0x9100 for the pre-standard QinQ some switches still send), then a 2-byte TCI (PCP 3 bits, DEI 1
 * bit, VLAN ID 12 bits), then the next EtherType. Tags can be stacked; the outermost comes first.
 */
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { Reason } from "./reason.js";

export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;

/** How many VLAN IDs DecodedPacket keeps (outer and inner); deeper tags are skipped. */
export const MAX_KEPT_VLANS = 2;

export function isVlanTpid(etherType: number): boolean {
  return etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ || etherType === ETHERTYPE_QINQ_OLD;
}

/**
 * Skip the VLAN tags that start at `off` when `etherType` (the type field just read) is a TPID.
 * Sets out.etherType to the EtherType after the last tag and keeps up to two VLAN IDs. Returns the
 * offset of the network layer, or -1 after out.fail().
 */
export function decodeVlanTags(data: Uint8Array, off: number, end: number, etherType: number, out: DecodedPacket): number {
  let type = etherType;
  // Each tag consumes 4 bytes, so the loop ends when the captured bytes do.
  while (isVlanTpid(type)) {
    if (off + 4 > end) {
      out.fail(Status.Truncated, "vlan", Reason.VlanCut);
      return -1;
    }
    // TCI: PCP(3) DEI(1) VID(12); only the VID matters here.
    const vid = ((data[off] << 8) | data[off + 1]) & 0x0fff;
    if (out.vlanCount < MAX_KEPT_VLANS) {
      out.vlanIds[out.vlanCount] = vid;
      out.vlanCount++;
    }
    type = (data[off + 2] << 8) | data[off + 3];
    off += 4;
  }
  out.etherType = type;
  return off;
}
