/**
 * Probes: does a stream look like the start of a TLS client or server handshake, where does TLS
 * start after a cleartext prefix, and does a stream begin with well-formed records (a capture
 * that began mid-connection).
 */
import { Cursor } from "../../bytes/cursor.js";
import type { Direction, ProbeResult } from "../types.js";
import { sslv2Length } from "./sslv2.js";
import { CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, CT_HEARTBEAT, HT_CLIENT_HELLO, HT_HELLO_RETRY_REQUEST_DRAFT, HT_SERVER_HELLO, MAX_RECORD_LENGTH, u16, u24 } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

/**
 * Does `bytes` from `start` look like the start of a TLS (or SSL 2.0/3.0) client handshake?
 * TLS: handshake record (22), version 3.x, plausible length, handshake type client_hello (1),
 * client_version 3.x. SSL 2.0: 2-byte header, MSG-CLIENT-HELLO (1), version 0x0002 or 3.x,
 * lengths that add up (§2.5).
 */
export function probeTlsClient(bytes: Uint8Array, start: number): ProbeResult {
  const s = Number.isInteger(start) && start >= 0 ? start : 0;
  const n = bytes.length - s;
  if (n <= 0) return "more";
  const b0 = bytes[s];
  if (b0 === CT_HANDSHAKE) {
    if (n < 2) return "more";
    if (bytes[s + 1] !== 3) return "no";
    if (n < 3) return "more";
    if (bytes[s + 2] > 4) return "no";
    if (n < 5) return "more";
    const len = u16(bytes, s + 3);
    if (len < 4) return "no";
    // A record longer than TLS allows that still opens with a ClientHello (22, 3.x, …, 1) is a
    // hostile or broken TLS client, not something else: let the analysis name it
    // (tls_record_too_long) rather than calling the stream unknown.
    if (len > MAX_RECORD_LENGTH) return n >= 6 && bytes[s + 5] === HT_CLIENT_HELLO ? "match" : "no";
    if (n < 6) return "more";
    if (bytes[s + 5] !== HT_CLIENT_HELLO) return "no";
    if (n < 9) return "more";
    if (u24(bytes, s + 6) < 2 + 32 + 1 + 2 + 1) return "no";
    if (n < 10) return "more";
    return bytes[s + 9] === 3 ? "match" : "no";
  }
  if ((b0 & 0x80) !== 0) {
    if (n < 3) return "more";
    if (bytes[s + 2] !== 1) return "no";
    const len = sslv2Length(new Cursor(bytes, s));
    if (n < 11) return "more";
    const version = u16(bytes, s + 3);
    if (version !== 0x0002 && bytes[s + 3] !== 3) return "no";
    const cs = u16(bytes, s + 5);
    const sid = u16(bytes, s + 7);
    const ch = u16(bytes, s + 9);
    // §2.5: challenge 16..32 bytes, session id 0 or 16; CIPHER-SPECs are 3 bytes each.
    if (cs === 0 || cs % 3 !== 0 || (sid !== 0 && sid !== 16 && sid !== 32) || ch < 16 || ch > 32) return "no";
    return 9 + cs + sid + ch === len ? "match" : "no";
  }
  return "no";
}

/**
 * Does `bytes` from `start` look like a TLS server flight: a handshake record holding a
 * ServerHello (or a draft HelloRetryRequest), a cleartext alert record, or an SSL 2.0 SERVER-HELLO?
 */
export function probeTlsServer(bytes: Uint8Array, start: number): ProbeResult {
  const s = Number.isInteger(start) && start >= 0 ? start : 0;
  const n = bytes.length - s;
  if (n <= 0) return "more";
  const b0 = bytes[s];
  if (b0 === CT_HANDSHAKE || b0 === CT_ALERT) {
    if (n < 2) return "more";
    if (bytes[s + 1] !== 3) return "no";
    if (n < 3) return "more";
    if (bytes[s + 2] > 4) return "no";
    if (n < 5) return "more";
    const len = u16(bytes, s + 3);
    if (b0 === CT_ALERT) {
      if (len !== 2) return "no";
      if (n < 6) return "more";
      return bytes[s + 5] === 1 || bytes[s + 5] === 2 ? "match" : "no";
    }
    if (len < 4 || len > MAX_RECORD_LENGTH) return "no";
    if (n < 6) return "more";
    if (bytes[s + 5] !== HT_SERVER_HELLO && bytes[s + 5] !== HT_HELLO_RETRY_REQUEST_DRAFT) return "no";
    if (n < 10) return "more";
    return bytes[s + 9] === 3 || bytes[s + 9] === 0x7f ? "match" : "no";
  }
  if ((b0 & 0x80) !== 0) {
    if (n < 3) return "more";
    if (bytes[s + 2] !== 4) return "no";
    if (n < 7) return "more";
    // SESSION-ID-HIT is 0/1, CERTIFICATE-TYPE 1 (X.509) when a certificate follows, SERVER-VERSION 0x0002.
    return bytes[s + 3] <= 1 && u16(bytes, s + 5) === 0x0002 ? "match" : "no";
  }
  return "no";
}

/**
 * How many complete, well-formed TLS records (RFC 8446 §5.1 / RFC 5246 §6.2.1: content type
 * 20–23, version 3.1–3.4, length ≤ 2^14 + 2048) follow each other from the start of `b` (≤ 3).
 */
export function recordChain(b: Uint8Array): number {
  let off = 0;
  let n = 0;
  while (n < 3 && off + 5 <= b.length) {
    const type = b[off];
    if (type < 20 || type > 23 || b[off + 1] !== 3 || b[off + 2] < 1 || b[off + 2] > 4) break;
    const len = u16(b, off + 3);
    if (len === 0 || len > MAX_RECORD_LENGTH || off + 5 + len > b.length) break;
    off += 5 + len;
    n++;
  }
  return n;
}

/**
 * Does `b` start with one well-formed TLS record (RFC 5246 §6.2.1, RFC 8446 §5.1): content type
 * 20–23, version 0x0300–0x0304, length ≤ 2^14 + 2048 (and not 0 but for application data), and
 * either the stream ends inside or right after it, or the next record header starts with a TLS
 * content type and version 3.x? Random bytes pass about once in 2^22; binary protocols whose
 * first bytes are a length or a small type code do not (their second byte is not 3).
 */
export function startsWithRecord(b: Uint8Array): boolean {
  if (b.length < 5) return false;
  const type = b[0];
  if (type < CT_CHANGE_CIPHER_SPEC || type > CT_APPLICATION_DATA || b[1] !== 3 || b[2] > 4) return false;
  const len = u16(b, 3);
  if (len > MAX_RECORD_LENGTH || (len === 0 && type !== CT_APPLICATION_DATA)) return false;
  const next = 5 + len;
  if (next >= b.length) return true; // the record ends the kept bytes, or they end inside it
  if (b[next] < CT_CHANGE_CIPHER_SPEC || b[next] > CT_HEARTBEAT) return false;
  return next + 1 >= b.length || b[next + 1] === 3;
}

/** A start offset made safe: an integer in [0, len]. */
export function clampStart(start: number | undefined, len: number): number {
  if (start === undefined || !Number.isFinite(start) || start < 0) return 0;
  return Math.min(Math.floor(start), len);
}

/**
 * Where, from `from`, does a TLS handshake start in this stream: the first offset whose bytes
 * probeTlsClient (dir "client") or probeTlsServer (dir "server") calls a match, looking at most
 * `limit` bytes ahead. For TLS after a cleartext prefix (STARTTLS, HTTP CONNECT, SOCKS). -1 when none.
 */
export function findTlsStart(bytes: Uint8Array, from: number, dir: Direction, limit = 16384): number {
  const s = clampStart(from, bytes.length);
  const end = Math.min(bytes.length, s + Math.max(0, limit));
  for (let i = s; i < end; i++) {
    const b0 = bytes[i];
    if (b0 !== CT_HANDSHAKE && (dir === "client" || b0 !== CT_ALERT)) continue;
    if (i + 1 < bytes.length && bytes[i + 1] !== 3) continue;
    if ((dir === "client" ? probeTlsClient(bytes, i) : probeTlsServer(bytes, i)) === "match") return i;
  }
  return -1;
}
