/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443).
 *
 * Both start type (1), code (1), checksum (2), then 4 bytes whose meaning depends on the type.
 * Error messages then quote the packet that caused them: ICMP the IP header and at least the first
 * 64 bits of its payload (RFC 792; RFC 1812 §4.3.2.3 lets routers quote more), ICMPv6 as much of
 * the invoking packet as fits (RFC 4443 §2.4 c). The quoted addresses, protocol and ports go into
 * the quoted* fields so that later code can attach, say, "port unreachable" to the conversation
 * whose packet it quotes.
 */
import { IpSpan } from "./ipv4.js";
import { walkIPv6Extensions } from "./ipv6.js";
import type { DecodedPacket } from "./packet.js";
import { IPPROTO_TCP, IPPROTO_UDP } from "./packet.js";
import { Status } from "./status.js";
import { Reason } from "./reason.js";

export const ICMP_HEADER_LEN = 8;

// ICMP error types (RFC 792): destination unreachable, source quench, redirect, time exceeded,
// parameter problem.
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
// ICMPv6 error types (RFC 4443 §3): destination unreachable, packet too big, time exceeded,
// parameter problem.
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;

export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM
  );
}

export function isIcmpv6Error(type: number): boolean {
  // Types 0-127 are errors (RFC 4443 §2.1); 1-4 are the ones that quote a packet.
  return type >= ICMPV6_DEST_UNREACHABLE && type <= ICMPV6_PARAMETER_PROBLEM;
}

/** Scratch for walking a quoted IPv6 header chain; one instance, reused. */
const quoteSpan = new IpSpan();

/** ICMP over IPv4 (protocol 1). Returns out.status. */
export function decodeIcmp(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): Status {
  if (!decodeIcmpHeader(buf, off, end, missing, out, "icmp")) return out.status;
  if (isIcmpError(out.icmpType)) decodeQuoted(buf, off + ICMP_HEADER_LEN, end, missing, out, 4, "icmp");
  return out.status;
}

/** ICMPv6 (next header 58). Returns out.status. */
export function decodeIcmpv6(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): Status {
  if (!decodeIcmpHeader(buf, off, end, missing, out, "icmpv6")) return out.status;
  if (isIcmpv6Error(out.icmpType)) decodeQuoted(buf, off + ICMP_HEADER_LEN, end, missing, out, 6, "icmpv6");
  return out.status;
}

function decodeIcmpHeader(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket, layer: string): boolean {
  const captured = end - off;
  if (captured + missing < 4) {
    out.fail(Status.Malformed, layer, Reason.IcmpShort);
    return false;
  }
  if (captured < 4) {
    out.fail(Status.Truncated, layer, Reason.IcmpHeaderCut);
    return false;
  }
  out.icmpType = buf[off];
  out.icmpCode = buf[off + 1];
  // The payload view is what follows the 8-byte header (echo data, the quoted packet, …).
  if (captured >= ICMP_HEADER_LEN) {
    out.payloadBuf = buf;
    out.payloadOffset = off + ICMP_HEADER_LEN;
    out.payloadLength = captured - ICMP_HEADER_LEN;
  }
  out.payloadMissing = missing;
  return true;
}

/**
 * The quoted packet at buf[q, end). A quote too short for its IP header fails the layer
 * (Truncated when the snaplen cut it, else Malformed); a quote that ends before the ports leaves
 * them 0 with hasQuoted still true.
 */
function decodeQuoted(buf: Uint8Array, q: number, end: number, missing: number, out: DecodedPacket, version: 4 | 6, layer: string): void {
  const headerLen = version === 4 ? 20 : 40;
  if (q + headerLen > end) {
    if (missing > 0) out.fail(Status.Truncated, layer, Reason.IcmpQuotedCut);
    else out.fail(Status.Malformed, layer, Reason.IcmpQuoteTooShort);
    return;
  }
  if (buf[q] >>> 4 !== version) {
    out.fail(Status.Malformed, layer, Reason.IcmpQuotedVersion);
    return;
  }
  let transport: number;
  let proto: number;
  if (version === 4) {
    const ihl = (buf[q] & 0x0f) * 4;
    if (ihl < 20) {
      out.fail(Status.Malformed, layer, Reason.IcmpQuotedIhlBelow5);
      return;
    }
    for (let i = 0; i < 4; i++) {
      out.quotedSrcIp[i] = buf[q + 12 + i];
      out.quotedDstIp[i] = buf[q + 16 + i];
    }
    out.hasQuoted = true;
    out.quotedIpVersion = 4;
    proto = buf[q + 9];
    out.quotedProto = proto;
    // Only the first fragment of a fragmented datagram carries the ports.
    if ((((buf[q + 6] << 8) | buf[q + 7]) & 0x1fff) !== 0) return;
    transport = q + ihl;
  } else {
    for (let i = 0; i < 16; i++) {
      out.quotedSrcIp[i] = buf[q + 8 + i];
      out.quotedDstIp[i] = buf[q + 24 + i];
    }
    out.hasQuoted = true;
    out.quotedIpVersion = 6;
    // The quote is cut by design, so the quoted bytes are the only bound on its header chain.
    if (!walkIPv6Extensions(buf, q + 40, end, end, buf[q + 6], true, quoteSpan)) return;
    proto = quoteSpan.proto;
    out.quotedProto = proto;
    if (quoteSpan.isFragment && quoteSpan.fragOffset !== 0) return;
    transport = quoteSpan.start;
  }
  // Ports: the first 4 bytes of TCP and UDP alike.
  if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && transport + 4 <= end) {
    out.quotedSrcPort = (buf[transport] << 8) | buf[transport + 1];
    out.quotedDstPort = (buf[transport + 2] << 8) | buf[transport + 3];
  }
}

/**
 * Captured bytes of the quoted packet's transport header and data (after its IP header and, for
 * IPv6, its extension headers), or -1 when the packet quotes nothing. tshark gives an ICMP error
 * the quoted conversation's tcp.stream only when at least 16 bytes of TCP were quoted (8 for UDP),
 * as for a packet of its own; a router's usual 8-byte quote of TCP gets none. DecodedPacket has no
 * field for this, so it is worked out again from the ICMP payload view (which starts at the quoted
 * packet). Call it before the next packet is decoded.
 */
export function quotedTransportBytes(p: DecodedPacket): number {
  if (!p.hasQuoted) return -1;
  const buf = p.payloadBuf;
  const q = p.payloadOffset;
  const end = q + p.payloadLength;
  if (p.quotedIpVersion === 4) {
    const start = q + (buf[q] & 0x0f) * 4;
    return end > start ? end - start : 0;
  }
  if (!walkIPv6Extensions(buf, q + 40, end, end, buf[q + 6], true, quoteSpan)) return 0;
  return end - quoteSpan.start;
}
