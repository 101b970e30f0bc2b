/**
 * NTP over UDP (RFC 5905 §7.3), plus the control (mode 6, RFC 9327) and private (mode 7, ntpd's
 * ntp_request.h) messages that share its port.
 *
 *   byte 0: LI (2 bits) | VN (3 bits) | Mode (3 bits)
 *   modes 1–5: Stratum | Poll (s8) | Precision (s8) | Root Delay u32 | Root Dispersion u32 |
 *              Reference ID u32 | Reference, Origin, Receive, Transmit timestamps (u64 each) = 48
 *              bytes, then extension fields / a MAC, all in 32-bit words (RFC 5905 §7.5)
 *   mode 6:    R E M Opcode | Sequence u16 | Status u16 | Association ID u16 | Offset u16 |
 *              Count u16 | data (≤ 468) = 12-byte header
 *   mode 7:    R M VN Mode | A Sequence | Implementation | Request code | Err(4) Nitems(12) |
 *              MBZ(4) Itemsize(12) = 8-byte header
 *
 * The shape is weak (any 48 bytes whose first byte is 0x1b look like a v3 client request), so
 * the detector is not trusted on content alone: on port 123 the probe checks version, mode and
 * length; elsewhere (tried last among UDP probes) it also wants stratum, poll, precision, root
 * delay and root dispersion in the ranges real clocks use.
 */
import { Cursor } from "../bytes/cursor.js";
import type { Anomaly, ConversationFacts, Datagram, Detector, ProbeResult, StreamSample } from "./types.js";

export const NTP_PORT = 123;
/** RFC 5905 §7.3: the header of modes 1–5 is 48 bytes. */
export const NTP_HEADER = 48;
const CTL_HEADER = 12;
const CTL_MAX_DATA = 468;
const PRIV_HEADER = 8;
/** Most datagrams analysed per conversation. */
const MAX_DATAGRAMS = 64;

export const NTP_MODES: readonly string[] = [
  "reserved",
  "symmetric active",
  "symmetric passive",
  "client",
  "server",
  "broadcast",
  "control",
  "private",
];

function s8(v: number): number {
  return v >= 128 ? v - 256 : v;
}

/**
 * Is this datagram an NTP packet? `strict` adds the range checks used off port 123.
 */
export function looksLikeNtp(d: Uint8Array, strict: boolean): boolean {
  const c = new Cursor(d);
  const first = c.u8(); // LI(2) VN(3) Mode(3), RFC 5905 §7.3
  if (first < 0) return false;
  const vn = (first >> 3) & 7;
  const mode = first & 7;
  if (vn < 1 || vn > 4 || mode === 0) return false;
  if (mode <= 5) {
    if (d.length < NTP_HEADER || (d.length - NTP_HEADER) % 4 !== 0) return false;
    if (!strict) return true;
    const stratum = c.u8();
    const poll = s8(c.u8());
    const precision = s8(c.u8());
    // Root delay and dispersion are 16.16 seconds; real values are well under 256 s.
    const rootDelay = c.u32();
    const rootDispersion = c.u32();
    return stratum <= 16 && poll >= -7 && poll <= 17 && precision >= -40 && precision <= 0 && rootDelay >>> 24 === 0 && rootDispersion >>> 24 === 0;
  }
  if (mode === 6) {
    // RFC 9327 §2: LI VN Mode(1) R E M OpCode(1) Sequence(2) Status(2) Association ID(2) Offset(2) Count(2).
    if (d.length < CTL_HEADER) return false;
    const op = c.u8() & 0x1f;
    c.skip(8);
    const count = c.u16();
    if (count > CTL_MAX_DATA || CTL_HEADER + count > d.length) return false;
    if (!strict) return true;
    // Off port 123, the real structure (RFC 9327 §2): a known opcode, LI 0, and a length that is
    // the header plus the data padded to 32 bits, optionally followed by a MAC (key id + MD5 or
    // SHA-1 digest). A DTLS record (16 01 00 …, 16 fe fd …) read this way has a "count" of 0 or 1
    // in a datagram of a hundred bytes.
    if ((op > 12 && op !== 31) || op === 0 || d[0] >> 6 !== 0) return false;
    const body = CTL_HEADER + ((count + 3) & ~3);
    const extra = d.length - body;
    return extra === 0 || extra === 20 || extra === 24;
  }
  // mode 7: implementation 0 (universal), 2 (XNTPD_OLD) or 3 (XNTPD); MBZ nibble zero;
  // the items fit in the packet.
  // Header (ntp_request.h): R M VN Mode(1) A Sequence(1) Implementation(1) Request(1)
  // Err(4) Nitems(12) MBZ(4) Size(12).
  if (d.length < PRIV_HEADER) return false;
  c.skip(1);
  const impl = c.u8();
  if (impl !== 0 && impl !== 2 && impl !== 3) return false;
  c.skip(1);
  const nitems = c.u16() & 0x0fff;
  const mbzSize = c.u16();
  if (mbzSize >> 12 !== 0) return false;
  const size = mbzSize & 0x0fff;
  if (nitems * size > d.length - PRIV_HEADER) return false;
  if (!strict) return true;
  // Off port 123 (ntpd's ntp_request.h): a response (R set) is the header plus its items, padded
  // to 32 bits; a request is the header and its 40-byte data area (48 bytes), optionally with the
  // authenticator (timestamp, key id, MD5 digest: 72 bytes).
  if ((first & 0x80) !== 0) {
    const body = PRIV_HEADER + nitems * size;
    return d.length === body || d.length === ((body + 3) & ~3);
  }
  return (d.length === 48 || d.length === 72) && nitems * size <= 40;
}

function probe(s: StreamSample): ProbeResult {
  if (s.transport !== "udp") return "no";
  const onPort = s.serverPort === NTP_PORT || s.clientPort === NTP_PORT;
  for (const d of s.datagrams) {
    if (d.data.length === 0) continue;
    return looksLikeNtp(d.data, !onPort) ? "match" : "no";
  }
  return "no";
}

function anomaly(out: ConversationFacts, d: Datagram, name: string, message: string): void {
  const a: Anomaly = { name, message, direction: d.fromClient ? "client" : "server", frame: d.frame, offset: 0 };
  out.anomalies.push(a);
}

/** Four ASCII letters of a kiss code (RFC 5905 §7.4) in the Reference ID `refid` holds, or null when the bytes are not letters. */
function kissCode(refid: Cursor): string | null {
  let s = "";
  for (let i = 0; i < 4; i++) {
    const c = refid.u8();
    if (c === 0) break;
    if (c < 0x20 || c >= 0x7f) return null;
    s += String.fromCharCode(c);
  }
  return s.length > 0 ? s : null;
}

/** The server's expected reply mode to a client mode (RFC 5905 §9, Figure 10). */
function expectedReply(mode: number): readonly number[] {
  switch (mode) {
    case 1:
      return [1, 2];
    case 3:
      return [4];
    case 6:
      return [6];
    case 7:
      return [7];
    default:
      return [];
  }
}

function analyze(s: StreamSample, out: ConversationFacts): void {
  const ntp: NonNullable<ConversationFacts["ntp"]> = { version: 0, clientMode: null, serverMode: null, stratum: null };
  out.ntp = ntp;
  let clientVersion = 0;
  let serverVersion = 0;
  let lastClientTx: [number, number] | null = null;
  let originChecked = false;
  let seen = 0;
  const once = new Set<string>();
  const onceAnomaly = (d: Datagram, name: string, message: string): void => {
    if (once.has(name)) return;
    once.add(name);
    anomaly(out, d, name, message);
  };

  for (const d of s.datagrams) {
    if (seen >= MAX_DATAGRAMS) break;
    const b = d.data;
    if (b.length === 0) continue;
    seen++;
    const c = new Cursor(b);
    const first = c.u8(); // LI(2) VN(3) Mode(3)
    const li = first >> 6;
    const vn = (first >> 3) & 7;
    const mode = first & 7;
    const who = d.fromClient ? "client" : "server";

    if (vn < 1 || vn > 4) onceAnomaly(d, "ntp_bad_version", `${who} packet in frame ${d.frame} has version ${vn}; NTP versions are 1–4`);
    if (d.fromClient) {
      if (ntp.clientMode === null) ntp.clientMode = mode;
      if (clientVersion === 0) clientVersion = vn;
    } else {
      if (ntp.serverMode === null) ntp.serverMode = mode;
      if (serverVersion === 0) serverVersion = vn;
    }
    if (mode === 0) {
      onceAnomaly(d, "ntp_reserved_mode", `${who} packet in frame ${d.frame} uses reserved mode 0`);
      continue;
    }

    if (mode <= 5) {
      if (b.length < NTP_HEADER) {
        onceAnomaly(d, "ntp_short_packet", `${who} packet in frame ${d.frame} is ${b.length} bytes; mode ${mode} needs ${NTP_HEADER}`);
        continue;
      }
      if ((b.length - NTP_HEADER) % 4 !== 0) {
        onceAnomaly(d, "ntp_bad_length", `${who} packet in frame ${d.frame} is ${b.length} bytes; what follows the 48-byte header must be whole 32-bit words`);
      }
      // RFC 5905 §7.3: Stratum(1) Poll(1) Precision(1) Root Delay(4) Root Dispersion(4)
      // Reference ID(4) Reference(8) Origin(8) Receive(8) Transmit(8) timestamps.
      const stratum = c.u8();
      c.skip(10);
      const refid = new Cursor();
      c.sub(4, refid);
      c.skip(8);
      const origin0 = c.u32();
      const origin1 = c.u32();
      c.skip(8);
      const transmit0 = c.u32();
      const transmit1 = c.u32();
      if (!d.fromClient && mode !== 3) {
        if (ntp.stratum === null) ntp.stratum = stratum;
        if (stratum === 0) {
          const code = kissCode(refid);
          onceAnomaly(d, "ntp_kiss_of_death", `server packet in frame ${d.frame} has stratum 0 (kiss-o'-death${code !== null ? ` "${code}"` : ""}, RFC 5905 §7.4)`);
        } else if (stratum > 16) {
          onceAnomaly(d, "ntp_stratum_reserved", `server packet in frame ${d.frame} has stratum ${stratum}; 17–255 are reserved`);
        }
        if (li === 3 || stratum === 16) {
          onceAnomaly(d, "ntp_unsynchronized", `server in frame ${d.frame} says its clock is not synchronized (leap indicator ${li}, stratum ${stratum})`);
        }
      }
      if (mode === 3 && d.fromClient) {
        lastClientTx = [transmit0, transmit1];
      } else if (mode === 4 && !d.fromClient && lastClientTx !== null && !originChecked) {
        // RFC 5905 §8: a reply whose origin timestamp is not the request's transmit timestamp is bogus.
        originChecked = true;
        const o0 = origin0;
        const o1 = origin1;
        if (o0 !== lastClientTx[0] || o1 !== lastClientTx[1]) {
          onceAnomaly(d, "ntp_origin_mismatch", `server reply in frame ${d.frame} has origin timestamp 0x${o0.toString(16)}.${o1.toString(16)}, not the request's transmit 0x${lastClientTx[0].toString(16)}.${lastClientTx[1].toString(16)}`);
        }
      }
    } else if (mode === 6) {
      if (b.length < CTL_HEADER) {
        onceAnomaly(d, "ntp_short_packet", `${who} control packet in frame ${d.frame} is ${b.length} bytes; the header is ${CTL_HEADER}`);
        continue;
      }
      c.skip(9); // R E M OpCode, Sequence, Status, Association ID, Offset
      const count = c.u16();
      if (count > CTL_MAX_DATA || CTL_HEADER + count > b.length) {
        onceAnomaly(d, "ntp_control_bad_count", `${who} control packet in frame ${d.frame} claims ${count} data bytes; ${b.length - CTL_HEADER} are present (at most ${CTL_MAX_DATA})`);
      }
    } else {
      if (b.length < PRIV_HEADER) {
        onceAnomaly(d, "ntp_short_packet", `${who} mode 7 packet in frame ${d.frame} is ${b.length} bytes; the header is ${PRIV_HEADER}`);
        continue;
      }
      // Mode 7 (ntpdc) is ntpd-private; its MON_GETLIST (20/42) was the monlist amplification.
      c.skip(2); // A Sequence, Implementation
      onceAnomaly(d, "ntp_mode7_private", `${who} sent an ntpd private (mode 7) message, request code ${c.u8()}, in frame ${d.frame}`);
    }
  }

  ntp.version = clientVersion !== 0 ? clientVersion : serverVersion;
  if (clientVersion !== 0 && serverVersion !== 0 && clientVersion !== serverVersion && ntp.clientMode === 3) {
    const d = s.datagrams.find((x) => !x.fromClient && x.data.length > 0);
    if (d !== undefined) anomaly(out, d, "ntp_version_mismatch", `client asked in NTP version ${clientVersion}, server answered in version ${serverVersion}`);
  }
  if (ntp.clientMode !== null && ntp.serverMode !== null) {
    const ok = expectedReply(ntp.clientMode);
    if (ok.length > 0 && !ok.includes(ntp.serverMode)) {
      const d = s.datagrams.find((x) => !x.fromClient && x.data.length > 0);
      if (d !== undefined) {
        anomaly(out, d, "ntp_unexpected_mode", `client sent mode ${ntp.clientMode} (${NTP_MODES[ntp.clientMode]}), server answered mode ${ntp.serverMode} (${NTP_MODES[ntp.serverMode]})`);
      }
    }
  }
}

export const ntpDetector: Detector = {
  protocol: "ntp",
  transports: ["udp"],
  ports: [NTP_PORT],
  byContent: false,
  probe,
  analyze,
};
