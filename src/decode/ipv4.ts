/**
 * IPv4 (RFC 791 §3.1).
 *
 * Header: version/IHL (1), DSCP/ECN (1), total length (2), identification (2), flags/fragment
 * offset (2), TTL (1), protocol (1), header checksum (2), source (4), destination (4), options
 * (IHL×4 − 20). The checksum is not checked: captures taken on the sending host see it before
 * offload fills it in.
 */
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { Reason } from "./reason.js";

export const IPV4_MIN_HEADER_LEN = 20;

/**
 * Where an IP layer's payload lies, for the dispatcher: one instance is reused. Offsets are in the
 * frame's coordinates: `end` is where the captured bytes of the payload stop, `missing` how many
 * bytes the IP length promised beyond that (snaplen cut). Fragment fields are set when the packet
 * is a fragment. Shared by ipv4.ts and ipv6.ts.
 */
export class IpSpan {
  start = 0;
  end = 0;
  missing = 0;
  isFragment = false;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  /** MF (IPv4) / M (IPv6) flag. */
  moreFragments = false;
  fragId = 0;
  /** IPv6: Next Header of the fragment header (the first header of the fragmentable part). */
  fragNextHeader = -1;
  /** Upper-layer protocol number found (IPv4 Protocol, or the end of the IPv6 header chain). */
  proto = 0;
  /** Why a walk stopped (IPv6 extension headers). */
  failStatus: Status = Status.OK;
  failReason: Reason = Reason.None;

  reset(): void {
    this.start = 0;
    this.end = 0;
    this.missing = 0;
    this.isFragment = false;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.fragId = 0;
    this.fragNextHeader = -1;
    this.proto = 0;
    this.failStatus = Status.OK;
    this.failReason = Reason.None;
  }

  /** Set the payload bounds: data[start, min(end, declaredEnd)) captured, the rest missing. */
  finish(start: number, end: number, declaredEnd: number, proto: number): boolean {
    const stop = declaredEnd < end ? declaredEnd : end;
    this.start = start;
    this.end = stop > start ? stop : start;
    this.missing = declaredEnd > this.end ? declaredEnd - this.end : 0;
    this.proto = proto;
    return true;
  }

  failWith(status: Status, reason: Reason): boolean {
    this.failStatus = status;
    this.failReason = reason;
    return false;
  }
}

/**
 * Decode the IPv4 header at data[off]. `end` is where the captured bytes stop and `wireEnd` where
 * the frame stopped on the wire (off + bytes after it in the original length). Fills the address,
 * TTL and protocol fields of `out` and the payload bounds in `span`. Returns false after out.fail().
 */
export function decodeIPv4(data: Uint8Array, off: number, end: number, wireEnd: number, out: DecodedPacket, span: IpSpan): boolean {
  span.reset();
  if (off + IPV4_MIN_HEADER_LEN > end) {
    out.fail(Status.Truncated, "ipv4", Reason.Ipv4Cut);
    return false;
  }
  const vihl = data[off];
  if (vihl >>> 4 !== 4) {
    out.fail(Status.Malformed, "ipv4", Reason.Ipv4Version);
    return false;
  }
  const hl = (vihl & 0x0f) * 4;
  if (hl < IPV4_MIN_HEADER_LEN) {
    out.fail(Status.Malformed, "ipv4", Reason.Ipv4IhlBelow5);
    return false;
  }
  const totalLength = (data[off + 2] << 8) | data[off + 3];
  out.ipVersion = 4;
  out.ttl = data[off + 8];
  out.ipProto = data[off + 9];
  for (let i = 0; i < 4; i++) {
    out.srcIp[i] = data[off + 12 + i];
    out.dstIp[i] = data[off + 16 + i];
  }
  // Total Length 0 is what TCP segmentation offload leaves in captures taken on the sender
  // (Wireshark says the same); the frame's length is then the only length there is.
  let declaredEnd: number;
  if (totalLength === 0) {
    declaredEnd = wireEnd;
  } else {
    if (totalLength < hl) {
      out.fail(Status.Malformed, "ipv4", Reason.Ipv4TotalLength);
      return false;
    }
    // Total Length bounds the payload: Ethernet pads short frames to 60 bytes, and the padding is
    // not IP. A Total Length longer than the frame was on the wire is believed only up to the frame.
    declaredEnd = off + totalLength;
    if (declaredEnd > wireEnd) declaredEnd = wireEnd;
  }
  if (off + hl > declaredEnd) {
    out.fail(Status.Malformed, "ipv4", Reason.Ipv4OptionsPastEnd);
    return false;
  }
  if (off + hl > end) {
    out.fail(Status.Truncated, "ipv4", Reason.Ipv4OptionsCut);
    return false;
  }
  span.finish(off + hl, end, declaredEnd, out.ipProto); // options (RFC 791 §3.1) are skipped

  // Flags (3 bits: reserved, DF, MF) and fragment offset in 8-octet units (13 bits).
  const ff = (data[off + 6] << 8) | data[off + 7];
  const more = (ff & 0x2000) !== 0;
  const fragUnits = ff & 0x1fff;
  if (more || fragUnits !== 0) {
    span.isFragment = true;
    span.moreFragments = more;
    span.fragOffset = fragUnits * 8;
    span.fragId = (data[off + 4] << 8) | data[off + 5];
  }
  return true;
}
