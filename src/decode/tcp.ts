/**
 * TCP (RFC 9293 §3.1).
 *
 * Header: source port (2), destination port (2), sequence number (4), acknowledgment number (4),
 * data offset (4 bits) / reserved / flags (12 bits), window (2), checksum (2), urgent pointer (2),
 * options (data offset × 4 − 20). The checksum is not checked (offload; see ipv4.ts).
 */
import type { DecodedPacket } from "./packet.js";
import { Reason } from "./reason.js";
import { Status } from "./status.js";

export const TCP_MIN_HEADER_LEN = 20;

/**
 * Bytes of the header up to and including the window: ports, sequence and acknowledgment numbers,
 * data offset, flags, window. Once these are captured the fields are filled in, even when the rest
 * of the header turns out cut or bogus, because tshark 4.0 also gives such a segment a tcp.stream
 * (checked: it does from 16 captured bytes on, whatever the data offset says; below 16, never).
 */
export const TCP_FIXED_FIELDS_LEN = 16;

// Failures before the fixed fields were read (nothing filled in): Reason.TcpShort, TcpHeaderCut.
// Failures after them (ports, seq/ack, flags and window filled in; keepsTcpFields in reason.ts):
// TcpShortAfterWindow, TcpCutAfterWindow, TcpOffsetBelow5, TcpOffsetPastPayload, and TcpOptionsCut
// when the options alone were cut by the snaplen (the SYN of a snaplen-68 capture).

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_TIMESTAMPS = 8;

/**
 * Decode the TCP segment at buf[off, end). `missing` is how many bytes of the IP payload were not
 * captured. Fills ports, seq/ack, flags, window, options and the payload view. Returns out.status.
 */
export function decodeTcp(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): Status {
  const captured = end - off;
  const promised = captured + missing; // what the IP length says the segment holds
  if (captured < TCP_FIXED_FIELDS_LEN) {
    if (promised < TCP_FIXED_FIELDS_LEN) return out.fail(Status.Malformed, "tcp", Reason.TcpShort);
    return out.fail(Status.Truncated, "tcp", Reason.TcpHeaderCut);
  }
  out.srcPort = (buf[off] << 8) | buf[off + 1];
  out.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  out.seq = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
  out.ack = ((buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11]) >>> 0;
  const hl = (buf[off + 12] >>> 4) * 4;
  out.tcpFlags = buf[off + 13]; // CWR ECE URG ACK PSH RST SYN FIN
  out.window = (buf[off + 14] << 8) | buf[off + 15];
  if (promised < TCP_MIN_HEADER_LEN) return out.fail(Status.Malformed, "tcp", Reason.TcpShortAfterWindow);
  if (captured < TCP_MIN_HEADER_LEN) return out.fail(Status.Truncated, "tcp", Reason.TcpCutAfterWindow);
  if (hl < TCP_MIN_HEADER_LEN) return out.fail(Status.Malformed, "tcp", Reason.TcpOffsetBelow5);
  if (hl > promised) return out.fail(Status.Malformed, "tcp", Reason.TcpOffsetPastPayload);
  const optEnd = hl <= captured ? off + hl : end;
  parseTcpOptions(buf, off + TCP_MIN_HEADER_LEN, optEnd, out);
  if (hl > captured) {
    // The payload, if any, was all cut; its length still moves the sequence space on.
    out.payloadMissing = promised - hl;
    return out.fail(Status.Truncated, "tcp", Reason.TcpOptionsCut);
  }
  out.payloadBuf = buf;
  out.payloadOffset = off + hl;
  out.payloadLength = end - (off + hl);
  out.payloadMissing = missing;
  return out.status;
}

/**
 * Options in buf[p, end). Kinds 0 (end of list) and 1 (no-op) are one byte; every other option is
 * kind, length (counting both), data. A length below 2 or past the header stops parsing — the
 * segment itself is still good. A known option with the wrong length is skipped, not believed.
 */
function parseTcpOptions(buf: Uint8Array, p: number, end: number, out: DecodedPacket): void {
  while (p < end) {
    const kind = buf[p];
    if (kind === OPT_EOL) return;
    if (kind === OPT_NOP) {
      p++;
      continue;
    }
    if (p + 2 > end) return;
    const len = buf[p + 1];
    if (len < 2 || p + len > end) return;
    switch (kind) {
      case OPT_MSS: // RFC 9293 §3.7.1
        if (len === 4) out.mss = (buf[p + 2] << 8) | buf[p + 3];
        break;
      case OPT_WSCALE: // RFC 7323 §2.2; the raw shift (values above 14 are used as 14 by receivers)
        if (len === 3) out.windowScale = buf[p + 2];
        break;
      case OPT_SACK_PERMITTED: // RFC 2018 §2
        if (len === 2) out.sackPermitted = true;
        break;
      case OPT_TIMESTAMPS: // RFC 7323 §3.2
        if (len === 10) {
          out.hasTimestamps = true;
          out.tsVal = ((buf[p + 2] << 24) | (buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5]) >>> 0;
          out.tsEcr = ((buf[p + 6] << 24) | (buf[p + 7] << 16) | (buf[p + 8] << 8) | buf[p + 9]) >>> 0;
        }
        break;
      default: // SACK blocks (5), TCP-AO, MPTCP, … are skipped by their length
        break;
    }
    p += len;
  }
}
