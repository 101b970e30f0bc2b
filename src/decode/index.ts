/**
 * The public surface of `decode/`: what the rest of the program may import. One file per layer
 * inside (ethernet.ts, vlan.ts, sll.ts, null.ts, ipv4.ts, ipv6.ts, tcp.ts, udp.ts, icmp.ts), IP
 * reassembly (fragments.ts, datagram.ts), the `--filter` language (filter.ts, filter-match.ts).
 * docs/decoders.md, docs/filter.md.
 */
export { DecodeContext, decodePacket, hasTransport, LINKTYPE_ETHERNET, SUPPORTED_LINK_TYPES, type DecodeInput } from "./decode.js";
export {
  DecodedPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from "./packet.js";
export { Status } from "./status.js";
export { Reason, REASON_TEXT } from "./reason.js";
export { DEFAULT_FRAGMENT_LIMITS, FragmentReassembler, type FragmentLimits } from "./fragments.js";
export { compileFilter, FilterError, type PacketFilter } from "./filter.js";
export { formatIp, formatIpv4, formatIpv6, formatMac, parseIp } from "./addr.js";
export type { DecodeCounts } from "./counts.js";
