/**
 * The TLS message layer's leaf (Zeek's ssl analyzer: the types and constants every other part
 * reads): the parsed hello records, wire constants and limits, GREASE (RFC 8701), the names of
 * versions, suites, alerts and extensions, the anomaly sink and the text helpers. Imports
 * nothing of tls/ but the name tables, so hello, records and fingerprint can all depend on it
 * without a loop.
 */
import type { Anomaly, Direction } from "../types.js";
import { ALERT_DESCRIPTION_NAMES, CIPHER_SUITE_NAMES, EXTENSION_TYPE_NAMES, VERSION_NAMES } from "./names.js";

// ---------------------------------------------------------------------------------------------
// Parsed hellos (the input of fingerprint.ts)
// ---------------------------------------------------------------------------------------------

/** A ClientHello as sent. Lists keep GREASE values and the order on the wire. */
export interface ParsedClientHello {
  /** True for an SSL 2.0 CLIENT-HELLO: then `ciphers` holds 24-bit CIPHER-SPECs and there are no extensions. */
  sslv2: boolean;
  /** Offset in the sender's stream of the handshake message header (or of the SSL 2.0 record). */
  offset: number;
  /** ClientHello.legacy_version (client_version in TLS ≤ 1.2; CLIENT-VERSION in SSL 2.0). */
  legacyVersion: number;
  sessionIdLength: number;
  ciphers: number[];
  compressionMethods: number[];
  /** Extension types in the order sent. */
  extensions: number[];
  /** First host_name of server_name (RFC 6066 §3), non-printable bytes escaped as \xNN. */
  serverName: string | null;
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  /** ALPN ProtocolName values (RFC 7301 §3.1), raw bytes (copies). */
  alpn: Uint8Array[];
  /** supported_versions (RFC 8446 §4.2.1) as offered; empty when the extension is absent. */
  supportedVersions: number[];
  /** Groups of the key_share entries (RFC 8446 §4.2.8). */
  keyShareGroups: number[];
}

/** A ServerHello or HelloRetryRequest (or an SSL 2.0 SERVER-HELLO when `sslv2`). */
export interface ParsedServerHello {
  sslv2: boolean;
  offset: number;
  /** legacy_version (server_version in TLS ≤ 1.2; SERVER-VERSION in SSL 2.0). */
  legacyVersion: number;
  sessionIdLength: number;
  /** cipher_suite; null for SSL 2.0 (the client picks in CLIENT-MASTER-KEY). */
  cipher: number | null;
  compressionMethod: number | null;
  extensions: number[];
  /** supported_versions selected_version (RFC 8446 §4.2.1), or null when absent. */
  supportedVersion: number | null;
  /** ALPN protocol selected (RFC 7301 §3.1), raw bytes, or null. */
  alpn: Uint8Array | null;
  /** key_share: the server's group (ServerHello) or selected_group (HelloRetryRequest). */
  keyShareGroup: number | null;
  /** Random is the special HelloRetryRequest value (RFC 8446 §4.1.3), or a draft HRR message (type 6). */
  helloRetryRequest: boolean;
}

/** A TLS ServerHello at `offset` with `legacyVersion` and nothing else read yet. */
export function emptyServerHello(offset: number, legacyVersion: number): ParsedServerHello {
  return {
    sslv2: false,
    offset,
    legacyVersion,
    sessionIdLength: 0,
    cipher: null,
    compressionMethod: null,
    extensions: [],
    supportedVersion: null,
    alpn: null,
    keyShareGroup: null,
    helloRetryRequest: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

export function hex4(v: number): string {
  return "0x" + (v & 0xffff).toString(16).padStart(4, "0");
}

/** 0x0303 → "TLS 1.2", 0x7f17 → "TLS 1.3 (draft 23)", 0x0002 → "SSL 2.0"; GREASE / unknown → "0x1a1a". */
export function tlsVersionName(v: number): string {
  const known = VERSION_NAMES.get(v);
  if (known !== undefined) return known;
  // draft-ietf-tls-tls13 §4.2.1 (drafts): 0x7f00 | draft number.
  if (v >> 8 === 0x7f && (v & 0xff) > 0) return `TLS 1.3 (draft ${v & 0xff})`;
  return hex4(v);
}

/** IANA TLS Cipher Suites name, e.g. 0x1301 → "TLS_AES_128_GCM_SHA256"; unknown → "0x1234". */
export function cipherName(id: number): string {
  return CIPHER_SUITE_NAMES.get(id) ?? hex4(id);
}

/** Alert description identifier (RFC 8446 §6), e.g. 40 → "handshake_failure"; unknown → "0x7f". */
export function alertDescriptionName(d: number): string {
  return ALERT_DESCRIPTION_NAMES.get(d) ?? "0x" + d.toString(16).padStart(2, "0");
}

/** Extension type name (IANA), e.g. 0x002b → "supported_versions"; unknown → "0x1234". */
export function extensionName(t: number): string {
  return EXTENSION_TYPE_NAMES.get(t) ?? hex4(t);
}

// ---------------------------------------------------------------------------------------------
// Limits and constants
// ---------------------------------------------------------------------------------------------

/** RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
export const MAX_RECORD_LENGTH = 16384 + 2048;
/** `description` of an alert record whose content is encrypted (its `level` is "encrypted"). */
export const ENCRYPTED_ALERT = "encrypted_alert";
/** Records walked per side; past it the rest of the stream is not looked at. */
export const MAX_RECORDS = 4096;
/** Largest handshake message we buffer (uint24 allows 16 MiB; real certificate chains stay far below). */
export const MAX_HANDSHAKE_MESSAGE = 256 * 1024;
/** Anomalies one conversation's TLS analysis may add. */
export const MAX_ANOMALIES = 32;
/** Certificates of one chain parsed at most (real chains have 2–4). */
export const MAX_CHAIN = 10;
/** Alerts kept per side. */
export const MAX_ALERTS = 16;

export const CT_CHANGE_CIPHER_SPEC = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPLICATION_DATA = 23;
export const CT_HEARTBEAT = 24;

export const HT_CLIENT_HELLO = 1;
export const HT_SERVER_HELLO = 2;
/** TLS 1.3 drafts before -22 had a separate hello_retry_request message type. */
export const HT_HELLO_RETRY_REQUEST_DRAFT = 6;
export const HT_CERTIFICATE = 11;

export const EXT_SERVER_NAME = 0x0000;
export const EXT_SUPPORTED_GROUPS = 0x000a;
export const EXT_EC_POINT_FORMATS = 0x000b;
export const EXT_SIGNATURE_ALGORITHMS = 0x000d;
export const EXT_ALPN = 0x0010;
export const EXT_SUPPORTED_VERSIONS = 0x002b;
export const EXT_KEY_SHARE = 0x0033;
/** draft-ietf-tls-tls13-22 and earlier put key_share at 40 (now "Reserved (key_share)"). */
export const EXT_KEY_SHARE_OLD = 0x0028;

/** RFC 8446 §4.1.3: HelloRetryRequest.random = SHA-256("HelloRetryRequest"). */
export const HRR_RANDOM = Uint8Array.of(
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
);

// ---------------------------------------------------------------------------------------------
// Anomaly sink
// ---------------------------------------------------------------------------------------------

export class Sink {
  count = 0;
  constructor(readonly out: Anomaly[]) {}
  add(name: string, message: string, direction: Direction, offset: number): void {
    if (this.count >= MAX_ANOMALIES) return;
    this.count++;
    this.out.push({ name, message, direction, offset });
  }
}

/** Maps an offset in the buffer being parsed to an offset in the sender's stream (for anomalies). */
export type OffsetMap = (bufferOffset: number) => number;

export const IDENTITY: OffsetMap = (x) => x;

/** Printable ASCII as is, anything else as \xNN (so a report line never carries control bytes). */
export function printable(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    const c = b[i];
    s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : "\\x" + c.toString(16).padStart(2, "0");
  }
  return s;
}

export function isPrintableHost(b: Uint8Array, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (b[i] <= 0x20 || b[i] >= 0x7f) return false;
  return true;
}

/**
 * RFC 8701 §2: GREASE values are 0x0A0A, 0x1A1A, …, 0xFAFA (both bytes equal, low nibble 0xA) for
 * cipher suites, extensions, named groups, signature algorithms and versions.
 */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** RFC 8701 §2: a GREASE ALPN identifier is two identical bytes of the form 0x?A. */
export function isGreaseAlpn(p: Uint8Array): boolean {
  return p.length === 2 && p[0] === p[1] && (p[0] & 0x0f) === 0x0a;
}
