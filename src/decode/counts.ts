/**
 * What the decoders saw of one capture, counted (the report's `captures[].decode`). The counting
 * itself is the pipeline's (src/pipeline/decode-counts.ts); the shape lives here, beside the
 * decoders whose outcomes it counts, so the report can name it without reaching past policy.
 */
/** What was decoded in one capture, beyond the reader's summary. */
export interface DecodeCounts {
  ipv4: number;
  ipv6: number;
  tcp: number;
  udp: number;
  icmp: number;
  /** Packets with no IP layer (ARP, LLDP, …), by EtherType in hex ("0x0806"). */
  nonIp: Record<string, number>;
  /** IP packets of protocols other than TCP, UDP and ICMP (ESP, GRE, …), by protocol number. */
  otherIpProtocols: Record<string, number>;
  /** Packets on link types we do not decode, by LINKTYPE number. */
  unsupportedLinkTypes: Record<string, number>;
  /** IP fragments seen, and datagrams reassembled from them. */
  fragments: number;
  reassembled: number;
  /** Packets cut by the capture's snaplen before a header ended (normal with a small snaplen). */
  snaplenCut: number;
  /** Packets whose headers contradict themselves, or are shorter than they claim. */
  malformed: number;
  /** Decode errors not listed in `errors` because the list was full. */
  errorsNotListed: number;
  /** ICMP errors that quoted a packet of no conversation in the capture. */
  icmpUnmatched: number;
  /** IP datagrams whose fragments never all arrived (dropped at the end of the capture or by the time limit). */
  fragmentsIncomplete: number;
  /**
   * IP datagrams dropped unfinished to stay within the reassembly limits (1,024 in progress, 4 MiB
   * held, 65,535 bytes each: docs/decoders.md); their fragments are in `fragments` only.
   */
  fragmentsDropped: number;
  /** IP fragments refused: past the largest possible datagram, or contradicting the datagram's end. */
  fragmentsRejected: number;
}
