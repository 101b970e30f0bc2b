/**
 * QUIC on the wire, before any decryption: variable-length integers (RFC 9000 §16), long headers
 * (§17.2), version names, Google QUIC's public header and CHLO SNI, and the datagram probe.
 */
import { Cursor } from "../bytes/cursor.js";
import { quicVersionInfo } from "./quic-crypto.js";

/** QUIC Crypto tags as read big-endian: "CHLO", "SNI\0". */
const TAG_CHLO = 0x43484c4f;
const TAG_SNI = 0x534e4900;

/** RFC 9000 §17.2: connection IDs of version 1 are at most 20 bytes. */
export const MAX_CID = 20;

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
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
  /** The fixed bit (0x40) is set (RFC 9000 §17.2; RFC 9287 lets a peer that agreed clear it). */
  fixed: boolean;
  /** Views into the datagram. */
  dcid: Uint8Array;
  scid: Uint8Array;
}

/**
 * The long header at the cursor (RFC 9000 §17.2): Header Form(1)=1 Fixed Bit(1) Long Packet
 * Type(2) Type-Specific(4), Version(32), DCID Length(8), DCID, SCID Length(8), SCID. The cursor is
 * left after the SCID; null (the cursor moved) when the bytes are not one or are cut.
 */
export function readLongHeader(c: Cursor): LongHeader | null {
  if (c.left < 7) return null;
  const first = c.u8();
  if ((first & 0x80) === 0) return null;
  const version = c.u32();
  const dcid = c.view(c.u8());
  if (dcid === null) return null;
  const scid = c.view(c.u8());
  if (scid === null) return null;
  return { version, type: (first >> 4) & 0x03, fixed: (first & 0x40) !== 0, dcid, scid };
}

/**
 * Google QUIC before Q046 (draft-tsvwg-quic-protocol-02 §5): public flags (bit 0x01 version
 * present, 0x08 8-byte connection ID), connection ID, 4-byte version "Q0xx". Returns the version
 * when a client datagram starts like that.
 */
export function gquicVersion(b: Uint8Array): number | null {
  const c = new Cursor(b);
  if (c.left < 13) return null;
  const flags = c.u8();
  if ((flags & 0x01) === 0 || (flags & 0x08) === 0 || (flags & 0x80) !== 0) return null;
  c.skip(8); // connection ID
  const v = c.u32();
  return /^Q0\d\d$/.test(quicVersionName(v)) ? v : null;
}

/**
 * Google QUIC's client hello is a QUIC Crypto handshake message in clear in the first packet's
 * stream frame (QUIC Crypto design doc, "Handshake message format"): tag "CHLO", u16 LE number of
 * entries, 2 bytes of padding, that many (tag(4), end offset u32 LE) pairs, then the values, each
 * ending at its offset from the start of the values. Returns the SNI tag's value, or null.
 */
export function gquicSni(b: Uint8Array): string | null {
  const c = new Cursor();
  for (let p = 0; p + 8 <= Math.min(b.length, 96); p++) {
    c.reset(b, p);
    if (c.u32() !== TAG_CHLO) continue;
    const n = c.u16le();
    c.skip(2); // padding
    const values = p + 8 + 8 * n;
    if (n > 128 || values > b.length) return null;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const tag = c.u32();
      const end = c.u32le();
      if (end < start || values + end > b.length) return null;
      if (tag === TAG_SNI) {
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
  const c = new Cursor(b);
  const h = readLongHeader(c);
  if (h === null) return gquicVersion(b) !== null;
  // A client never sends Version Negotiation (version 0): an NTP request from an unsynchronised
  // clock (0xe3, stratum 0, …) looks exactly like one.
  if (!h.fixed || h.version === 0) return false;
  if (h.dcid.length > MAX_CID || h.scid.length > MAX_CID) return false;
  const info = quicVersionInfo(h.version);
  if (info === null) return /^Q0\d\d$/.test(quicVersionName(h.version)); // Google QUIC Q046+ long header
  // RFC 9000 §7.2: the DCID of the client's first Initial is at least 8 bytes.
  if (h.type !== info.initialType || h.dcid.length < 8) return false;
  // Initial (§17.2.2): Token Length (varint), Token, Length (varint), …
  const tok = c.varint();
  if (tok < 0 || !c.skip(tok)) return false;
  return c.varint() >= 20; // packet number (≥1) + AEAD tag (16) + at least one frame byte
}

