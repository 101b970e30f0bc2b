/**
 * The decoder's entry point: one captured frame in, one filled DecodedPacket out, layer by layer
 * (link → VLAN → IPv4/IPv6 → fragment reassembly → TCP/UDP/ICMP). See docs/decoders.md.
 *
 * It never throws and never allocates for a packet that is not a fragment: every layer checks its
 * bounds before reading, reports problems through out.fail() with a Reason (reason.ts; its message is static), and writes
 * into the reused `out`. Byte views in `out` borrow `data` (or the reassembler's buffer).
 */
import type { RawPacket } from "../capture/index.js";
import { decodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet.js";
import { FragmentReassembler, FragResult } from "./fragments.js";
import { decodeIcmp, decodeIcmpv6 } from "./icmp.js";
import { decodeIPv4, IpSpan } from "./ipv4.js";
import { decodeIPv6, walkIPv6Extensions } from "./ipv6.js";
import {
  decodeLoop,
  decodeNull,
  decodeRawIp,
  DLT_RAW_12,
  DLT_RAW_14,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "./null.js";
import { DecodedPacket, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "./packet.js";
import { decodeSll, decodeSll2, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 } from "./sll.js";
import { keepsTcpFields, Reason } from "./reason.js";
import { Status } from "./status.js";
import { decodeTcp } from "./tcp.js";
import { decodeUdp } from "./udp.js";

export const LINKTYPE_ETHERNET = 1;


/** Link types decodePacket understands (LINKTYPE_* values, plus DLT_RAW's 12 and 14). */
export const SUPPORTED_LINK_TYPES: readonly number[] = Object.freeze([
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  DLT_RAW_12,
  DLT_RAW_14,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
]);

/**
 * What decoding keeps from one packet to the next, owned by whoever decodes a capture (one per
 * capture analysis, one per evidence re-read): the IP reassembler and the network layer's scratch
 * payload bounds. Nothing is kept at module level, so two analyses never share state.
 */
export class DecodeContext {
  /** Payload bounds of the network layer, reused for every packet. */
  readonly span = new IpSpan();
  constructor(readonly frags: FragmentReassembler = new FragmentReassembler()) {}
}

/** What decodePacket reads of a packet: these fields of the capture's packet record. */
export type DecodeInput = Pick<RawPacket, "buf" | "start" | "caplen" | "origLen" | "linkType" | "tsSec">;

/**
 * Decode one frame: `packet.buf[start, start + caplen)` holds the captured bytes (read in place),
 * `origLen` is the length on the wire, `tsSec` the capture time in seconds (fragment timeouts run
 * on it). Resets and fills `out` and returns out.status:
 *  - OK: every layer decoded (for IP protocols other than TCP/UDP/ICMP/ICMPv6 see Unsupported);
 *  - Truncated / Malformed: out.failedLayer and out.reason (out.message in words) say where and why;
 *  - Unsupported: unknown link type (failedLayer "link"), a non-IP EtherType (etherType set), or
 *    an IP protocol not decoded (ipProto set, payload = the IP payload);
 *  - FragmentPending: an IP fragment held until its datagram is complete (wasFragment true).
 * The fragment that completes a datagram decodes the transport layer from the reassembled bytes
 * (reassembled and wasFragment true), as tshark shows it on that frame only.
 */
export function decodePacket(packet: DecodeInput, out: DecodedPacket, ctx: DecodeContext): Status {
  const data = packet.buf;
  const start = packet.start;
  const caplen = packet.caplen;
  const origLen = packet.origLen;
  const linkType = packet.linkType;
  const tsSec = packet.tsSec;
  const frags = ctx.frags;
  out.reset();
  out.linkType = linkType;
  if (frags.datagramsInProgress > 0) frags.expire(tsSec);
  // The frame is data[start, start + caplen): a reader's whole chunk is passed with no view per
  // packet. Never read past the buffer (a NaN or negative caplen reads nothing).
  const s = start >= 0 && start <= data.length ? Math.floor(start) : data.length;
  let end = data.length;
  if (!(caplen >= 0)) end = s;
  else if (s + caplen < end) end = s + Math.floor(caplen);
  // Where the frame ended on the wire; a broken origLen below caplen is not believed.
  const wireEnd = s + origLen > end ? s + origLen : end;

  let off: number;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      off = decodeEthernet(data, end, out, s);
      break;
    case LINKTYPE_LINUX_SLL:
      off = decodeSll(data, end, out, s);
      break;
    case LINKTYPE_LINUX_SLL2:
      off = decodeSll2(data, end, out, s);
      break;
    case LINKTYPE_RAW:
    case DLT_RAW_12:
    case DLT_RAW_14:
      off = decodeRawIp(data, end, out, s);
      break;
    case LINKTYPE_IPV4:
      out.etherType = ETHERTYPE_IPV4;
      off = s;
      break;
    case LINKTYPE_IPV6:
      out.etherType = ETHERTYPE_IPV6;
      off = s;
      break;
    case LINKTYPE_NULL:
      off = decodeNull(data, end, out, s);
      break;
    case LINKTYPE_LOOP:
      off = decodeLoop(data, end, out, s);
      break;
    default:
      return out.fail(Status.Unsupported, "link", Reason.UnsupportedLinkType);
  }
  if (off < 0) return out.status;

  if (out.etherType === ETHERTYPE_IPV4) return decodeIPv4Packet(data, off, end, wireEnd, tsSec, out, ctx);
  if (out.etherType === ETHERTYPE_IPV6) return decodeIPv6Packet(data, off, end, wireEnd, tsSec, out, ctx);
  return out.fail(Status.Unsupported, "link", Reason.NotIp);
}

function decodeIPv4Packet(
  data: Uint8Array,
  off: number,
  end: number,
  wireEnd: number,
  tsSec: number,
  out: DecodedPacket,
  ctx: DecodeContext,
): Status {
  const span = ctx.span;
  const frags = ctx.frags;
  if (!decodeIPv4(data, off, end, wireEnd, out, span)) return out.status;
  if (!span.isFragment) return decodeTransport(data, span.start, span.end, span.missing, out);
  out.wasFragment = true;
  if (span.missing > 0) {
    // Bytes of the datagram are gone; holding the rest would only wait for a timeout.
    return out.fail(Status.Truncated, "ipv4", Reason.Ipv4FragmentCut);
  }
  const r = frags.addV4(out.srcIp, out.dstIp, span.fragId, out.ipProto, span.fragOffset, span.moreFragments, data, span.start, span.end, tsSec);
  if (r === FragResult.Held) return out.fail(Status.FragmentPending, "ipv4", Reason.Ipv4FragmentHeld);
  if (r === FragResult.Rejected) return out.fail(Status.Malformed, "ipv4", frags.reason);
  out.reassembled = true;
  return decodeTransport(frags.buf, 0, frags.length, 0, out);
}

function decodeIPv6Packet(
  data: Uint8Array,
  off: number,
  end: number,
  wireEnd: number,
  tsSec: number,
  out: DecodedPacket,
  ctx: DecodeContext,
): Status {
  const span = ctx.span;
  const frags = ctx.frags;
  if (!decodeIPv6(data, off, end, wireEnd, out, span)) return out.status;
  if (!span.isFragment) return decodeTransport(data, span.start, span.end, span.missing, out);
  out.wasFragment = true;
  if (span.missing > 0) return out.fail(Status.Truncated, "ipv6", Reason.Ipv6FragmentCut);
  const r = frags.addV6(out.srcIp, out.dstIp, span.fragId, span.fragNextHeader, span.fragOffset, span.moreFragments, data, span.start, span.end, tsSec);
  if (r === FragResult.Held) return out.fail(Status.FragmentPending, "ipv6", Reason.Ipv6FragmentHeld);
  if (r === FragResult.Rejected) return out.fail(Status.Malformed, "ipv6", frags.reason);
  out.reassembled = true;
  // The fragmentable part may itself start with extension headers (RFC 8200 §4.5).
  const buf = frags.buf;
  const len = frags.length;
  if (!walkIPv6Extensions(buf, 0, len, len, frags.nextHeader, false, span)) {
    return out.fail(span.failStatus, "ipv6", span.failReason);
  }
  out.ipProto = span.proto;
  return decodeTransport(buf, span.start, span.end, 0, out);
}

function decodeTransport(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): Status {
  switch (out.ipProto) {
    case IPPROTO_TCP:
      return decodeTcp(buf, off, end, missing, out);
    case IPPROTO_UDP:
      return decodeUdp(buf, off, end, missing, out);
    case IPPROTO_ICMP:
      return decodeIcmp(buf, off, end, missing, out);
    case IPPROTO_ICMPV6:
      return decodeIcmpv6(buf, off, end, missing, out);
    default:
      // ESP, No Next Header, GRE, SCTP, …: the IP layer is fine; what it carries is not decoded.
      out.payloadBuf = buf;
      out.payloadOffset = off;
      out.payloadLength = end - off;
      out.payloadMissing = missing;
      return out.fail(Status.Unsupported, out.ipVersion === 4 ? "ipv4" : "ipv6", Reason.IpProtocolNotDecoded);
  }
}

/**
 * True when the packet belongs to a TCP or UDP conversation the way tshark 4.0 counts them (it
 * gives the frame a tcp.stream / udp.stream): status OK with ipProto TCP/UDP, or a TCP segment
 * whose first 16 header bytes (ports to window) were read before the rest proved cut or bogus —
 * e.g. the SYN of a snaplen-68 capture, whose options were cut. Ports, seq/ack, flags and window
 * are then valid; payloadLength is 0. UDP with a cut or bogus header never counts (nor in tshark).
 */
export function hasTransport(p: DecodedPacket): boolean {
  if (p.ipProto !== IPPROTO_TCP && p.ipProto !== IPPROTO_UDP) return false;
  if (p.status === Status.OK) return true;
  return p.failedLayer === "tcp" && keepsTcpFields(p.reason);
}
