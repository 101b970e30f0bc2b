/**
 * QUIC on the wire, before any decryption: variable-length integers (RFC 9000 §16), long headers
 * (§17.2), version names, Google QUIC's public header and CHLO SNI, and the datagram probe.
 */
import { quicVersionInfo } from "./quic-crypto.js";

/** RFC 9000 §17.2: connection IDs of version 1 are at most 20 bytes. */
export const MAX_CID = 20;

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** RFC 9000 §16: variable-length integer at p → [value, next], or null when it runs past end. */
export function readVarint(b: Uint8Array, p: number, end: number): [number, number] | null {
  if (p >= end) return null;
  const len = 1 << (b[p] >> 6);
  if (p + len > end) return null;
  let v = b[p] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[p + i];
  return [v, p + len];
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) >>> 0) + (b[p + 1] << 16) + (b[p + 2] << 8) + b[p + 3];
}

/** "1", "2", "draft-29", Google QUIC's ASCII "Q046", else "0x1a2a3a4a". */
export function quicVersionName(v: number): string {
  const info = quicVersionInfo(v);
  if (info !== null) return info.name;
  const q = String.fromCharCode((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  if (/^Q0\d\d$/.test(q) || /^T0\d\d$/.test(q)) return q;
  return "0x" + v.toString(16).padStart(8, "0");
}

/** The long header fields before the type-specific part (RFC 9000 §17.2). */
export interface LongHeader {
  version: number;
  /** Packet type bits (first byte bits 4–5), before header protection is removed (they are not protected). */
  type: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  /** Offset just after the SCID. */
  next: number;
}

export function readLongHeader(b: Uint8Array, p: number, end: number): LongHeader | null {
  if (end - p < 7 || (b[p] & 0x80) === 0) return null;
  const version = u32(b, p + 1);
  let q = p + 5;
  const dl = b[q++];
  if (dl > 255 || q + dl > end) return null;
  const dcid = b.subarray(q, q + dl);
  q += dl;
  if (q >= end) return null;
  const sl = b[q++];
  if (q + sl > end) return null;
  const scid = b.subarray(q, q + sl);
  q += sl;
  return { version, type: (b[p] >> 4) & 0x03, dcid, scid, next: q };
}

/**
 * Google QUIC before Q046 (draft-tsvwg-quic-protocol-02 §5): public flags (bit 0x01 version
 * present, 0x08 8-byte connection ID), connection ID, 4-byte version "Q0xx". Returns the version
 * when a client datagram starts like that.
 */
export function gquicVersion(b: Uint8Array): number | null {
  if (b.length < 13) return null;
  const flags = b[0];
  if ((flags & 0x01) === 0 || (flags & 0x08) === 0 || (flags & 0x80) !== 0) return null;
  const v = u32(b, 9);
  return /^Q0\d\d$/.test(quicVersionName(v)) ? v : null;
}

/**
 * Google QUIC's client hello is a QUIC Crypto handshake message in clear in the first packet's
 * stream frame (QUIC Crypto design doc, "Handshake message format"): tag "CHLO", u16 LE number of
 * entries, 2 bytes of padding, that many (tag(4), end offset u32 LE) pairs, then the values, each
 * ending at its offset from the start of the values. Returns the SNI tag's value, or null.
 */
export function gquicSni(b: Uint8Array): string | null {
  for (let p = 0; p + 8 <= Math.min(b.length, 96); p++) {
    if (b[p] !== 0x43 || b[p + 1] !== 0x48 || b[p + 2] !== 0x4c || b[p + 3] !== 0x4f) continue; // "CHLO"
    const n = b[p + 4] | (b[p + 5] << 8);
    const values = p + 8 + 8 * n;
    if (n > 128 || values > b.length) return null;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const e = p + 8 + 8 * i;
      const end = (b[e + 4] | (b[e + 5] << 8) | (b[e + 6] << 16)) + b[e + 7] * 2 ** 24;
      if (end < start || values + end > b.length) return null;
      if (b[e] === 0x53 && b[e + 1] === 0x4e && b[e + 2] === 0x49 && b[e + 3] === 0x00) {
        // "SNI\0": a host name; anything outside printable ASCII is written \xNN.
        let sni = "";
        for (let k = values + start; k < values + end && sni.length < 1024; k++) {
          const c = b[k];
          sni += c > 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : "\\x" + c.toString(16).padStart(2, "0");
        }
        return sni;
      }
      start = end;
    }
    return null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Probe
// ---------------------------------------------------------------------------------------------

/**
 * A client's long header Initial of a version we know, with the fixed bit set (RFC 9000 §17.2;
 * RFC 9287 lets a peer that agreed clear it later, not in the first Initial), a DCID of 8 to 20
 * bytes (§7.2), an SCID of at most 20, and a token and Length that fit; or Google QUIC.
 */
export function probeQuicDatagram(b: Uint8Array): boolean {
  const h = readLongHeader(b, 0, b.length);
  if (h === null) return gquicVersion(b) !== null;
  // A client never sends Version Negotiation (version 0): an NTP request from an unsynchronised
  // clock (0xe3, stratum 0, …) looks exactly like one.
  if ((b[0] & 0x40) === 0 || h.version === 0) return false;
  if (h.dcid.length > MAX_CID || h.scid.length > MAX_CID) return false;
  const info = quicVersionInfo(h.version);
  if (info === null) return /^Q0\d\d$/.test(quicVersionName(h.version)); // Google QUIC Q046+ long header
  // RFC 9000 §7.2: the DCID of the client's first Initial is at least 8 bytes.
  if (h.type !== info.initialType || h.dcid.length < 8) return false;
  const tok = readVarint(b, h.next, b.length);
  if (tok === null || tok[0] > b.length - tok[1]) return false;
  const len = readVarint(b, tok[1] + tok[0], b.length);
  return len !== null && len[0] >= 20; // packet number (≥1) + AEAD tag (16) + at least one frame byte
}

