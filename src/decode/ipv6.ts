/**
 * IPv6 (RFC 8200 §3) and its extension headers (§4).
 *
 * Fixed header, 40 bytes: version/traffic class/flow label (4), payload length (2), next header
 * (1), hop limit (1), source (16), destination (16). Extension headers follow as a chain, each
 * naming the next; the last names the upper-layer protocol.
 */
import { IpSpan } from "./ipv4.js";
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { Reason } from "./reason.js";

export const IPV6_HEADER_LEN = 40;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

/**
 * Most extension headers walked before giving up. Each is at least 8 bytes, so the captured bytes
 * end any chain anyway; this bounds work on jumbo-sized garbage too. RFC 8200 §4.1 lists at most
 * one of each kind (destination options twice), so a real chain is far shorter.
 */
export const MAX_EXTENSION_HEADERS = 16;

/**
 * Decode the IPv6 header at data[off] and walk its extension headers. Fills addresses, hop limit
 * (as ttl) and ipProto in `out`, and the payload bounds (and fragment fields) in `span`.
 * Returns false after out.fail().
 */
export function decodeIPv6(data: Uint8Array, off: number, end: number, wireEnd: number, out: DecodedPacket, span: IpSpan): boolean {
  span.reset();
  if (off + IPV6_HEADER_LEN > end) {
    out.fail(Status.Truncated, "ipv6", Reason.Ipv6Cut);
    return false;
  }
  if (data[off] >>> 4 !== 6) {
    out.fail(Status.Malformed, "ipv6", Reason.Ipv6Version);
    return false;
  }
  const payloadLength = (data[off + 4] << 8) | data[off + 5];
  out.ipVersion = 6;
  out.ttl = data[off + 7];
  for (let i = 0; i < 16; i++) {
    out.srcIp[i] = data[off + 8 + i];
    out.dstIp[i] = data[off + 24 + i];
  }
  // Payload Length 0 means a jumbogram (RFC 2675) or segmentation offload on the sender: the frame
  // is then the only length there is. Otherwise it bounds the payload (Ethernet padding is not IP).
  let declaredEnd = payloadLength === 0 ? wireEnd : off + IPV6_HEADER_LEN + payloadLength;
  if (declaredEnd > wireEnd) declaredEnd = wireEnd;
  const ok = walkIPv6Extensions(data, off + IPV6_HEADER_LEN, end, declaredEnd, data[off + 6], true, span);
  if (!ok) {
    out.fail(span.failStatus, "ipv6", span.failReason);
    return false;
  }
  out.ipProto = span.proto;
  return true;
}

/**
 * Walk the extension header chain starting at data[off] with `next` as the first Next Header, up
 * to the upper-layer header (or a fragment header). On success span.start/end/missing/proto are
 * set, and for a fragment (offset or M flag not zero) span.isFragment and the fragment fields, with
 * span.start at the fragmentable part. `allowFragment` false refuses any fragment header (inside a
 * reassembled datagram). On failure span.failStatus/failReason say why and false is returned.
 * The span is reset first.
 */
export function walkIPv6Extensions(
  data: Uint8Array,
  off: number,
  end: number,
  declaredEnd: number,
  next: number,
  allowFragment: boolean,
  span: IpSpan,
): boolean {
  span.reset();
  let pos = off;
  let first = true;
  for (let count = 0; ; count++) {
    if (count > MAX_EXTENSION_HEADERS) return span.failWith(Status.Malformed, Reason.Ipv6ChainTooLong);
    switch (next) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_AH: {
        // RFC 8200 §4.3: hop-by-hop options only directly after the IPv6 header.
        if (next === IPPROTO_HOPOPTS && !first) {
          return span.failWith(Status.Malformed, Reason.Ipv6HopByHopNotFirst);
        }
        if (pos + 2 > declaredEnd) return span.failWith(Status.Malformed, Reason.Ipv6ExtensionPastPayload);
        if (pos + 2 > end) return span.failWith(Status.Truncated, Reason.Ipv6ExtensionCut);
        // Hdr Ext Len: 8-octet units not counting the first 8 (RFC 8200 §4.3-4.6); for AH,
        // 4-octet units minus 2 (RFC 4302 §2.2).
        const len = next === IPPROTO_AH ? (data[pos + 1] + 2) * 4 : (data[pos + 1] + 1) * 8;
        if (pos + len > declaredEnd) return span.failWith(Status.Malformed, Reason.Ipv6ExtensionPastPayload);
        if (pos + len > end) return span.failWith(Status.Truncated, Reason.Ipv6ExtensionCut);
        next = data[pos];
        pos += len;
        break;
      }
      case IPPROTO_FRAGMENT: {
        // RFC 8200 §4.5: next header (1), reserved (1), offset (13 bits) res (2) M (1), id (4).
        if (pos + 8 > declaredEnd) return span.failWith(Status.Malformed, Reason.Ipv6FragmentHeaderPastPayload);
        if (pos + 8 > end) return span.failWith(Status.Truncated, Reason.Ipv6FragmentHeaderCut);
        const om = (data[pos + 2] << 8) | data[pos + 3];
        const fragOffset = om & 0xfff8; // (om >> 3) * 8
        const more = (om & 1) !== 0;
        const nh = data[pos];
        if (fragOffset === 0 && !more) {
          // An atomic fragment (RFC 6946): processed as if it were not fragmented.
          next = nh;
          pos += 8;
          break;
        }
        if (!allowFragment) return span.failWith(Status.Malformed, Reason.Ipv6FragmentInFragment);
        span.isFragment = true;
        span.fragOffset = fragOffset;
        span.moreFragments = more;
        span.fragId = ((data[pos + 4] << 24) | (data[pos + 5] << 16) | (data[pos + 6] << 8) | data[pos + 7]) >>> 0;
        span.fragNextHeader = nh;
        return span.finish(pos + 8, end, declaredEnd, nh);
      }
      default:
        // The upper-layer protocol (TCP, UDP, ICMPv6, …), or ESP (50) / No Next Header (59),
        // after which nothing more can be read.
        return span.finish(pos, end, declaredEnd, next);
    }
    first = false;
  }
}
