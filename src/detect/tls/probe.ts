/**
 * Probes: does a stream look like the start of a TLS client or server handshake, where does TLS
 * start after a cleartext prefix, and does a stream begin with well-formed records (a capture
 * that began mid-connection).
 */
import { Cursor } from "../../bytes/cursor.js";
import type { Direction, ProbeResult } from "../types.js";
import { CT_ALERT, CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, CT_HEARTBEAT, HT_CLIENT_HELLO, HT_HELLO_RETRY_REQUEST_DRAFT, HT_SERVER_HELLO, MAX_RECORD_LENGTH } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

/**
 * The rest of a TLSPlaintext header after its type (RFC 8446 §5.1: legacy_record_version 3.0–3.4,
 * then length(2)): the length, or "more" when the bytes end first, "no" when it is not 3.x.
 */
function recordLength(c: Cursor): number | "more" | "no" {
  const major = c.u8();
  if (major < 0) return "more";
  if (major !== 3) return "no";
  const minor = c.u8();
  if (minor < 0) return "more";
  if (minor > 4) return "no";
  const len = c.u16();
  return len < 0 ? "more" : len;
}

/**
 * Does `bytes` from `start` look like the start of a TLS (or SSL 2.0/3.0) client handshake?
 * TLS: handshake record (22), version 3.x, plausible length, handshake type client_hello (1),
 * client_version 3.x. SSL 2.0: 2-byte header, MSG-CLIENT-HELLO (1), version 0x0002 or 3.x,
 * lengths that add up (§2.5). Each field is read as far as the bytes go: "more" when they end
 * before the answer is known.
 */
export function probeTlsClient(bytes: Uint8Array, start: number): ProbeResult {
  const c = new Cursor(bytes, Number.isInteger(start) && start >= 0 ? start : 0);
  const b0 = c.u8();
  if (b0 < 0) return "more";
  if (b0 === CT_HANDSHAKE) {
    // After the record header, the Handshake header (RFC 8446 §4): msg_type(1) length(3); then
    // ClientHello.legacy_version(2).
    const len = recordLength(c);
    if (typeof len === "string") return len;
    if (len < 4) return "no";
    const msgType = c.u8();
    // A record longer than TLS allows that still opens with a ClientHello (22, 3.x, …, 1) is a
    // hostile or broken TLS client, not something else: let the analysis name it
    // (tls_record_too_long) rather than calling the stream unknown.
    if (len > MAX_RECORD_LENGTH) return msgType === HT_CLIENT_HELLO ? "match" : "no";
    if (msgType < 0) return "more";
    if (msgType !== HT_CLIENT_HELLO) return "no";
    const mlen = c.u24();
    if (mlen < 0) return "more";
    if (mlen < 2 + 32 + 1 + 2 + 1) return "no";
    const versionMajor = c.u8();
    if (versionMajor < 0) return "more";
    return versionMajor === 3 ? "match" : "no";
  }
  if ((b0 & 0x80) !== 0) {
    // SSL 2.0 (§2.1, §2.5): 15-bit length, MSG-CLIENT-HELLO, CLIENT-VERSION(2),
    // CIPHER-SPECS-LENGTH(2) SESSION-ID-LENGTH(2) CHALLENGE-LENGTH(2).
    const len = ((b0 & 0x7f) << 8) | c.u8();
    const msg = c.u8();
    if (msg < 0) return "more";
    if (msg !== 1) return "no";
    if (c.left < 8) return "more";
    const version = c.u16();
    if (version !== 0x0002 && version >> 8 !== 3) return "no";
    const cs = c.u16();
    const sid = c.u16();
    const ch = c.u16();
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
  const c = new Cursor(bytes, Number.isInteger(start) && start >= 0 ? start : 0);
  const b0 = c.u8();
  if (b0 < 0) return "more";
  if (b0 === CT_HANDSHAKE || b0 === CT_ALERT) {
    const len = recordLength(c);
    if (typeof len === "string") return len;
    if (b0 === CT_ALERT) {
      // An alert in clear: level(1) description(1) (RFC 5246 §7.2).
      if (len !== 2) return "no";
      const level = c.u8();
      if (level < 0) return "more";
      return level === 1 || level === 2 ? "match" : "no";
    }
    if (len < 4 || len > MAX_RECORD_LENGTH) return "no";
    const msgType = c.u8();
    if (msgType < 0) return "more";
    if (msgType !== HT_SERVER_HELLO && msgType !== HT_HELLO_RETRY_REQUEST_DRAFT) return "no";
    // Handshake length(3), then legacy_version's first byte: 3, or 0x7f for a TLS 1.3 draft.
    const mlen = c.u24();
    const versionMajor = c.u8();
    if (mlen < 0 || versionMajor < 0) return "more";
    return versionMajor === 3 || versionMajor === 0x7f ? "match" : "no";
  }
  if ((b0 & 0x80) !== 0) {
    // SSL 2.0 SERVER-HELLO (§2.6): length, MSG-SERVER-HELLO(1)=4, SESSION-ID-HIT(1), CERTIFICATE-TYPE(1), SERVER-VERSION(2).
    c.skip(1);
    const msg = c.u8();
    if (msg < 0) return "more";
    if (msg !== 4) return "no";
    if (c.left < 4) return "more";
    const hit = c.u8();
    c.skip(1); // CERTIFICATE-TYPE: 1 (X.509) when a certificate follows
    return hit <= 1 && c.u16() === 0x0002 ? "match" : "no";
  }
  return "no";
}

/**
 * How many complete, well-formed TLS records (RFC 8446 §5.1 / RFC 5246 §6.2.1: content type
 * 20–23, version 3.1–3.4, length ≤ 2^14 + 2048) follow each other from the start of `b` (≤ 3).
 */
export function recordChain(b: Uint8Array): number {
  const c = new Cursor(b);
  let n = 0;
  while (n < 3 && c.left >= 5) {
    const type = c.u8();
    const major = c.u8();
    const minor = c.u8();
    const len = c.u16();
    if (type < 20 || type > 23 || major !== 3 || minor < 1 || minor > 4) break;
    if (len === 0 || len > MAX_RECORD_LENGTH || !c.skip(len)) break;
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
  const c = new Cursor(b);
  if (c.left < 5) return false;
  const type = c.u8();
  const major = c.u8();
  const minor = c.u8();
  const len = c.u16();
  if (type < CT_CHANGE_CIPHER_SPEC || type > CT_APPLICATION_DATA || major !== 3 || minor > 4) return false;
  if (len > MAX_RECORD_LENGTH || (len === 0 && type !== CT_APPLICATION_DATA)) return false;
  if (!c.skip(len) || c.left === 0) return true; // the record ends the kept bytes, or they end inside it
  const next = c.u8();
  if (next < CT_CHANGE_CIPHER_SPEC || next > CT_HEARTBEAT) return false;
  const nextMajor = c.u8();
  return nextMajor < 0 || nextMajor === 3;
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
