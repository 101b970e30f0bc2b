/**
 * BSD loopback encapsulations and raw IP link types (tcpdump.org link-layer header types).
 *
 * LINKTYPE_NULL (0): a 4-byte address family in the byte order of the host that *captured* the
 * packet, which the file does not record — so both orders are tried: a value with bits set in its
 * upper 16 bits read one way is read the other way (families are small numbers).
 * LINKTYPE_LOOP (108): the same 4 bytes, always in network byte order (OpenBSD).
 * AF_INET is 2 everywhere; AF_INET6 differs by OS: 10 (Linux), 24 (NetBSD, OpenBSD, BSD/OS),
 * 28 (FreeBSD, DragonFly), 30 (macOS, iOS).
 *
 * Raw IP — LINKTYPE_RAW (101), and DLT_RAW's numbers 12 and 14 that some files carry in place of
 * the LINKTYPE — has no link header: the IP version nibble says 4 or 6. LINKTYPE_IPV4 (228) and
 * LINKTYPE_IPV6 (229) say it in the link type.
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet.js";
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { Reason } from "./reason.js";

export const LINKTYPE_NULL = 0;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_RAW = 101;
/** DLT_RAW on most platforms, found in some files instead of LINKTYPE_RAW. */
export const DLT_RAW_12 = 12;
/** DLT_RAW on OpenBSD. */
export const DLT_RAW_14 = 14;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;

export const AF_INET = 2;
const AF_INET6_LINUX = 10;
const AF_INET6_NETBSD_OPENBSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/** LINKTYPE_NULL: returns 4 (the network layer's offset) with out.etherType set, or -1. */
export function decodeNull(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < 4) {
    out.fail(Status.Truncated, "null", Reason.NullCut);
    return -1;
  }
  let af = (data[s] | (data[s + 1] << 8) | (data[s + 2] << 16) | (data[s + 3] << 24)) >>> 0; // little-endian host
  if (af > 0xffff) af = ((data[s] << 24) | (data[s + 1] << 16) | (data[s + 2] << 8) | data[s + 3]) >>> 0; // big-endian host
  return familyToEtherType(af, out, "null", s);
}

/** LINKTYPE_LOOP: the family in network byte order. */
export function decodeLoop(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < 4) {
    out.fail(Status.Truncated, "loop", Reason.LoopCut);
    return -1;
  }
  const af = ((data[s] << 24) | (data[s + 1] << 16) | (data[s + 2] << 8) | data[s + 3]) >>> 0;
  return familyToEtherType(af, out, "loop", s);
}

function familyToEtherType(af: number, out: DecodedPacket, layer: string, s: number): number {
  switch (af) {
    case AF_INET:
      out.etherType = ETHERTYPE_IPV4;
      return s + 4;
    case AF_INET6_LINUX:
    case AF_INET6_NETBSD_OPENBSD:
    case AF_INET6_FREEBSD:
    case AF_INET6_DARWIN:
      out.etherType = ETHERTYPE_IPV6;
      return s + 4;
    default:
      out.fail(Status.Unsupported, layer, Reason.LoopbackFamily);
      return -1;
  }
}

/** Raw IP: the version nibble of the first byte decides. Returns 0 with out.etherType set, or -1. */
export function decodeRawIp(data: Uint8Array, end: number, out: DecodedPacket, s = 0): number {
  if (end - s < 1) {
    out.fail(Status.Truncated, "raw", Reason.RawEmpty);
    return -1;
  }
  const version = data[s] >>> 4;
  if (version === 4) out.etherType = ETHERTYPE_IPV4;
  else if (version === 6) out.etherType = ETHERTYPE_IPV6;
  else {
    out.fail(Status.Malformed, "raw", Reason.RawVersion);
    return -1;
  }
  return s;
}
