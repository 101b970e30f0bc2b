/**
 * Decoder outcomes. A decoder never throws: it returns one of these and, when not OK, the layer
 * that stopped it and a static message (no string building on the hot path).
 *
 * Truncated (the capture cut the packet: snaplen, or a record shorter than the header claims) is
 * kept apart from Malformed (the bytes contradict themselves), as gopacket does with
 * SetTruncated().
 */
export const Status = {
  OK: 0,
  /** The packet was cut before this layer's header ended. */
  Truncated: 1,
  /** A length or field is impossible (IPv4 IHL < 5, TCP data offset past the packet, …). */
  Malformed: 2,
  /** A link type or ether type we do not decode (ARP, LLDP, …): not an error. */
  Unsupported: 3,
  /** An IP fragment held for reassembly; nothing above IP yet. */
  FragmentPending: 4,
} as const;
export type Status = (typeof Status)[keyof typeof Status];
