/**
 * UDP (RFC 768): source port (2), destination port (2), length (2, header included), checksum (2).
 */
import type { DecodedPacket } from "./packet.js";
import { Status } from "./status.js";
import { Reason } from "./reason.js";

export const UDP_HEADER_LEN = 8;

/**
 * Decode the UDP datagram at buf[off, end); `missing` is how many bytes of the IP payload were not
 * captured. The payload is bounded by the UDP length field. A length field larger than the IP
 * payload is bounded by the IP payload instead (Wireshark flags it but decodes on, and our
 * conversations are counted as tshark counts them). Returns out.status.
 */
export function decodeUdp(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): Status {
  const captured = end - off;
  const promised = captured + missing;
  if (promised < UDP_HEADER_LEN) return out.fail(Status.Malformed, "udp", Reason.UdpShort);
  if (captured < UDP_HEADER_LEN) return out.fail(Status.Truncated, "udp", Reason.UdpHeaderCut);
  const length = (buf[off + 4] << 8) | buf[off + 5];
  if (length < UDP_HEADER_LEN) return out.fail(Status.Malformed, "udp", Reason.UdpLengthBelow8);
  out.srcPort = (buf[off] << 8) | buf[off + 1];
  out.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  const udpLen = length <= promised ? length : promised;
  const dataEnd = off + udpLen;
  const capturedEnd = dataEnd < end ? dataEnd : end;
  out.payloadBuf = buf;
  out.payloadOffset = off + UDP_HEADER_LEN;
  out.payloadLength = capturedEnd - (off + UDP_HEADER_LEN);
  out.payloadMissing = dataEnd - capturedEnd;
  return out.status;
}
