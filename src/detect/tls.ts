/**
 * TLS (and SSL 2.0/3.0) handshake detector and parser.
 *
 * Reads the cleartext part of a handshake from the client's and the server's in-order byte
 * streams: the record layer (RFC 8446 §5.1, RFC 5246 §6.2.1, RFC 6101 §5.2.1), handshake messages
 * reassembled across records, ClientHello / ServerHello / HelloRetryRequest (RFC 8446 §4.1.2-4.1.4,
 * RFC 5246 §7.4.1), the extensions that matter for reporting and fingerprints (RFC 8446 §4.2,
 * RFC 6066 §3 SNI, RFC 7301 ALPN, RFC 8422 §5.1 groups / point formats), the server Certificate
 * (RFC 5246 §7.4.2; TLS 1.3 sends it encrypted), alerts in clear (RFC 5246 §7.2), and the SSL 2.0
 * CLIENT-HELLO / SERVER-HELLO (draft-hickman-netscape-ssl-00 §2.5-2.6, RFC 6101 Appendix E.1).
 *
 * Everything is bounds-checked and bounded: bad bytes become named anomalies, never exceptions.
 * Parsing stops on each side where that side's records become encrypted (after its
 * ChangeCipherSpec in TLS ≤ 1.2; after the ServerHello in TLS 1.3, whose encrypted records are
 * all of outer type application_data).
 */
import type { Anomaly, CertificateFacts, ChainCertificate, ConversationFacts, Detector, Direction, ProbeResult, StreamSample, TlsFacts, TlsTruncation } from "./types.js";
import { readChain, type CertificateCache } from "./tls-certificate.js";

export { opensslTimeToIso } from "./tls-certificate.js";
import { isGrease, isGreaseAlpn, ja3, ja3s, ja4 } from "./fingerprint.js";
import { ALERT_DESCRIPTION_NAMES, CIPHER_SUITE_NAMES, EXTENSION_TYPE_NAMES, VERSION_NAMES } from "./tls-names.js";

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

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

function hex4(v: number): string {
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
const MAX_RECORDS = 4096;
/** Largest handshake message we buffer (uint24 allows 16 MiB; real certificate chains stay far below). */
const MAX_HANDSHAKE_MESSAGE = 256 * 1024;
/** Anomalies one conversation's TLS analysis may add. */
const MAX_ANOMALIES = 32;
/** Certificates of one chain parsed at most (real chains have 2–4). */
const MAX_CHAIN = 10;
/** Alerts kept per side. */
const MAX_ALERTS = 16;

const CT_CHANGE_CIPHER_SPEC = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPLICATION_DATA = 23;
const CT_HEARTBEAT = 24;

const HT_CLIENT_HELLO = 1;
const HT_SERVER_HELLO = 2;
/** TLS 1.3 drafts before -22 had a separate hello_retry_request message type. */
const HT_HELLO_RETRY_REQUEST_DRAFT = 6;
const HT_CERTIFICATE = 11;

const EXT_SERVER_NAME = 0x0000;
const EXT_SUPPORTED_GROUPS = 0x000a;
const EXT_EC_POINT_FORMATS = 0x000b;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;
const EXT_KEY_SHARE = 0x0033;
/** draft-ietf-tls-tls13-22 and earlier put key_share at 40 (now "Reserved (key_share)"). */
const EXT_KEY_SHARE_OLD = 0x0028;

/** RFC 8446 §4.1.3: HelloRetryRequest.random = SHA-256("HelloRetryRequest"). */
const HRR_RANDOM = Uint8Array.of(
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
);

// ---------------------------------------------------------------------------------------------
// Anomaly sink
// ---------------------------------------------------------------------------------------------

class Sink {
  count = 0;
  constructor(readonly out: Anomaly[]) {}
  add(name: string, message: string, direction: Direction, offset: number): void {
    if (this.count >= MAX_ANOMALIES) return;
    this.count++;
    this.out.push({ name, message, direction, offset });
  }
}

/** Maps an offset in the buffer being parsed to an offset in the sender's stream (for anomalies). */
type OffsetMap = (bufferOffset: number) => number;

const IDENTITY: OffsetMap = (x) => x;

function u16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

function u24(b: Uint8Array, p: number): number {
  return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
}

/** Printable ASCII as is, anything else as \xNN (so a report line never carries control bytes). */
function printable(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    const c = b[i];
    s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : "\\x" + c.toString(16).padStart(2, "0");
  }
  return s;
}

function isPrintableHost(b: Uint8Array, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (b[i] <= 0x20 || b[i] >= 0x7f) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Hello parsers. `b[from, to)` is the handshake message body (its 4-byte header is just before
// it); `at` maps offsets in b to offsets in the sender's stream for anomalies.
// ---------------------------------------------------------------------------------------------

function emptyClientHello(offset: number): ParsedClientHello {
  return {
    sslv2: false,
    offset,
    legacyVersion: 0,
    sessionIdLength: 0,
    ciphers: [],
    compressionMethods: [],
    extensions: [],
    serverName: null,
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    alpn: [],
    supportedVersions: [],
    keyShareGroups: [],
  };
}

/** Reads a uint16 list `<len(lenBytes)>{u16...}` at p..end into out; false when malformed. */
function readU16List(b: Uint8Array, p: number, end: number, lenBytes: 1 | 2, out: number[]): boolean {
  if (end - p < lenBytes) return false;
  const n = lenBytes === 1 ? b[p] : u16(b, p);
  p += lenBytes;
  if (n % 2 !== 0 || n > end - p) return false;
  for (let i = 0; i < n; i += 2) out.push(u16(b, p + i));
  return p + n === end;
}

/**
 * Parses a ClientHello body (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2; RFC 6101 §5.6.1.2):
 *   legacy_version(2) random(32) legacy_session_id<0..32> cipher_suites<2..2^16-2>
 *   legacy_compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 * Returns null when the fixed part is unreadable; extension problems are anomalies and the
 * extension is kept in `extensions` (as tshark and JA3 count it).
 */
function readClientHello(b: Uint8Array, from: number, to: number, at: OffsetMap, sink: Sink | null, dir: Direction): ParsedClientHello | null {
  const h = emptyClientHello(at(from - 4));
  const bad = (name: string, msg: string, x: number) => sink?.add(name, msg, dir, at(x));
  let p = from;
  if (to - p < 2 + 32 + 1) {
    bad("tls_hello_too_short", `ClientHello body of ${to - from} bytes ends before its session id`, p);
    return null;
  }
  h.legacyVersion = u16(b, p);
  p += 2 + 32; // legacy_version, random
  const sid = b[p++];
  if (sid > 32) bad("tls_bad_session_id_length", `ClientHello session id length ${sid} exceeds 32`, p - 1);
  if (sid > to - p) {
    bad("tls_hello_too_short", `ClientHello session id of ${sid} bytes runs past the message (${to - p} left)`, p - 1);
    return null;
  }
  h.sessionIdLength = sid;
  p += sid;
  if (to - p < 2) {
    bad("tls_hello_too_short", "ClientHello ends before its cipher suites", p);
    return null;
  }
  const cs = u16(b, p);
  p += 2;
  if (cs > to - p) {
    bad("tls_bad_cipher_suites_length", `ClientHello cipher_suites length ${cs} runs past the message (${to - p} left)`, p - 2);
    return null;
  }
  if (cs % 2 !== 0 || cs === 0) bad("tls_bad_cipher_suites_length", `ClientHello cipher_suites length ${cs} is ${cs === 0 ? "zero" : "odd"}`, p - 2);
  for (let i = 0; i + 1 < cs; i += 2) h.ciphers.push(u16(b, p + i));
  p += cs;
  if (to - p < 1) {
    bad("tls_hello_too_short", "ClientHello ends before its compression methods", p);
    return null;
  }
  const cm = b[p++];
  if (cm > to - p) {
    bad("tls_bad_compression_methods", `ClientHello compression_methods length ${cm} runs past the message (${to - p} left)`, p - 1);
    return null;
  }
  if (cm === 0) bad("tls_bad_compression_methods", "ClientHello offers no compression method (at least null is required)", p - 1);
  for (let i = 0; i < cm; i++) h.compressionMethods.push(b[p + i]);
  p += cm;
  if (p === to) return h; // RFC 5246 §7.4.1.2: extensions may be absent (SSL 3.0, old TLS).
  parseExtensions(b, p, to, at, sink, dir, "ClientHello", (type, q, end) => clientExtension(h, type, b, q, end, at, sink, dir), h.extensions);
  return h;
}

/**
 * Walks `extensions<0..2^16-1>` (RFC 8446 §4.2): type(2) length(2) data. Every type is appended to
 * `types`; `each` parses the ones it knows and returns false when the data is malformed.
 */
function parseExtensions(
  b: Uint8Array,
  p: number,
  to: number,
  at: OffsetMap,
  sink: Sink | null,
  dir: Direction,
  what: string,
  each: (type: number, from: number, to: number) => boolean,
  types: number[],
): void {
  if (to - p < 2) {
    sink?.add("tls_bad_extensions_length", `${what} has ${to - p} byte(s) where the extensions length should be`, dir, at(p));
    return;
  }
  const total = u16(b, p);
  p += 2;
  let end = p + total;
  if (total > to - p) {
    sink?.add("tls_bad_extensions_length", `${what} extensions length ${total} runs past the message (${to - p} left)`, dir, at(p - 2));
    end = to;
  } else if (end < to) {
    sink?.add("tls_trailing_bytes", `${what} has ${to - end} byte(s) after its extensions`, dir, at(end));
  }
  // RFC 8446 §4.2: no more than one extension of each type. A bitmap over the 16-bit space costs
  // 8 KiB once and keeps 10,000 extensions linear.
  let seen: Uint8Array | null = null;
  let dupReported = false;
  while (p < end) {
    if (end - p < 4) {
      sink?.add("tls_bad_extension_length", `${what} has ${end - p} stray byte(s) where an extension header should be`, dir, at(p));
      return;
    }
    const type = u16(b, p);
    const len = u16(b, p + 2);
    types.push(type);
    if (len > end - p - 4) {
      sink?.add("tls_bad_extension_length", `${what} extension ${extensionName(type)} length ${len} runs past the extensions block (${end - p - 4} left)`, dir, at(p));
      return;
    }
    if (!isGrease(type)) {
      if (seen === null) seen = new Uint8Array(8192);
      const bit = 1 << (type & 7);
      if (seen[type >> 3] & bit) {
        if (!dupReported) sink?.add("tls_duplicate_extension", `${what} repeats extension ${extensionName(type)}`, dir, at(p));
        dupReported = true;
      }
      seen[type >> 3] |= bit;
    }
    if (!each(type, p + 4, p + 4 + len)) {
      sink?.add("tls_bad_extension_length", `${what} extension ${extensionName(type)} (${len} bytes) has inconsistent inner lengths`, dir, at(p));
    }
    p += 4 + len;
  }
}

function clientExtension(
  h: ParsedClientHello,
  type: number,
  b: Uint8Array,
  p: number,
  end: number,
  at: OffsetMap,
  sink: Sink | null,
  dir: Direction,
): boolean {
  switch (type) {
    case EXT_SERVER_NAME: {
      // RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>; entry: name_type(1) HostName<1..2^16-1>.
      // An empty extension is what a server sends back; a client must send a list.
      if (end === p) return true;
      if (end - p < 2) return false;
      const n = u16(b, p);
      p += 2;
      if (n !== end - p) return false;
      while (p < end) {
        if (end - p < 3) return false;
        const nameType = b[p];
        const len = u16(b, p + 1);
        p += 3;
        if (len > end - p) return false;
        if (nameType === 0 && h.serverName === null) {
          if (!isPrintableHost(b, p, p + len)) {
            sink?.add("tls_bad_sni", `server_name host name of ${len} bytes is empty or not printable ASCII`, dir, at(p));
          }
          h.serverName = printable(b, p, p + len);
        }
        p += len;
      }
      return true;
    }
    case EXT_SUPPORTED_GROUPS: // RFC 8446 §4.2.7: NamedGroup named_group_list<2..2^16-1>
      return readU16List(b, p, end, 2, h.supportedGroups);
    case EXT_EC_POINT_FORMATS: {
      // RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>
      if (end - p < 1) return false;
      const n = b[p];
      if (n !== end - p - 1) return false;
      for (let i = 0; i < n; i++) h.ecPointFormats.push(b[p + 1 + i]);
      return true;
    }
    case EXT_SIGNATURE_ALGORITHMS: // RFC 8446 §4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>
      return readU16List(b, p, end, 2, h.signatureAlgorithms);
    case EXT_ALPN: {
      // RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>; ProtocolName opaque<1..2^8-1>.
      if (end - p < 2) return false;
      const n = u16(b, p);
      p += 2;
      if (n !== end - p) return false;
      while (p < end) {
        const len = b[p++];
        if (len > end - p) return false;
        h.alpn.push(b.slice(p, p + len));
        p += len;
      }
      return true;
    }
    case EXT_SUPPORTED_VERSIONS: // RFC 8446 §4.2.1: ProtocolVersion versions<2..254> (ClientHello form)
      return readU16List(b, p, end, 1, h.supportedVersions);
    case EXT_KEY_SHARE:
    case EXT_KEY_SHARE_OLD: {
      // RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>; entry: group(2) key_exchange<1..2^16-1>.
      if (end - p < 2) return false;
      const n = u16(b, p);
      p += 2;
      if (n !== end - p) return false;
      while (p < end) {
        if (end - p < 4) return false;
        const group = u16(b, p);
        const len = u16(b, p + 2);
        p += 4;
        if (len > end - p) return false;
        h.keyShareGroups.push(group);
        p += len;
      }
      return true;
    }
    default:
      return true;
  }
}

/**
 * Parses a ClientHello body (the bytes after the 4-byte handshake header). Problems go to
 * `anomalies` (offsets relative to `body`); null when the fixed part is unreadable.
 */
export function parseClientHello(body: Uint8Array, anomalies?: Anomaly[]): ParsedClientHello | null {
  const h = readClientHello(body, 0, body.length, IDENTITY, anomalies ? new Sink(anomalies) : null, "client");
  if (h !== null) h.offset = 0;
  return h;
}

/** Parses a ServerHello (or HelloRetryRequest) body, like parseClientHello. */
export function parseServerHello(body: Uint8Array, anomalies?: Anomaly[]): ParsedServerHello | null {
  const h = readServerHello(body, 0, body.length, IDENTITY, anomalies ? new Sink(anomalies) : null, "server");
  if (h !== null) h.offset = 0;
  return h;
}

function equalsAt(b: Uint8Array, p: number, x: Uint8Array): boolean {
  if (b.length - p < x.length) return false;
  for (let i = 0; i < x.length; i++) if (b[p + i] !== x[i]) return false;
  return true;
}

/**
 * Parses a ServerHello body (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3):
 *   legacy_version(2) random(32) legacy_session_id_echo<0..32> cipher_suite(2)
 *   legacy_compression_method(1) [extensions<6..2^16-1>]
 * TLS 1.3 drafts before -22 (server_version 0x7fNN, NN < 22) had no session id and no
 * compression method. A random equal to HRR_RANDOM makes it a HelloRetryRequest.
 */
function readServerHello(b: Uint8Array, from: number, to: number, at: OffsetMap, sink: Sink | null, dir: Direction): ParsedServerHello | null {
  const h: ParsedServerHello = {
    sslv2: false,
    offset: at(from - 4),
    legacyVersion: 0,
    sessionIdLength: 0,
    cipher: null,
    compressionMethod: null,
    extensions: [],
    supportedVersion: null,
    alpn: null,
    keyShareGroup: null,
    helloRetryRequest: false,
  };
  const bad = (name: string, msg: string, x: number) => sink?.add(name, msg, dir, at(x));
  let p = from;
  if (to - p < 2 + 32) {
    bad("tls_hello_too_short", `ServerHello body of ${to - from} bytes ends inside its random`, p);
    return null;
  }
  h.legacyVersion = u16(b, p);
  h.helloRetryRequest = equalsAt(b, p + 2, HRR_RANDOM);
  p += 34;
  const oldDraft = h.legacyVersion >> 8 === 0x7f && (h.legacyVersion & 0xff) < 22;
  if (!oldDraft) {
    if (to - p < 1) {
      bad("tls_hello_too_short", "ServerHello ends before its session id", p);
      return null;
    }
    const sid = b[p++];
    if (sid > 32) bad("tls_bad_session_id_length", `ServerHello session id length ${sid} exceeds 32`, p - 1);
    if (sid > to - p) {
      bad("tls_hello_too_short", `ServerHello session id of ${sid} bytes runs past the message (${to - p} left)`, p - 1);
      return null;
    }
    h.sessionIdLength = sid;
    p += sid;
  }
  if (to - p < 2) {
    bad("tls_hello_too_short", "ServerHello ends before its cipher suite", p);
    return null;
  }
  h.cipher = u16(b, p);
  p += 2;
  if (!oldDraft) {
    if (to - p < 1) {
      bad("tls_hello_too_short", "ServerHello ends before its compression method", p);
      return null;
    }
    h.compressionMethod = b[p++];
  }
  if (p === to) return h;
  parseExtensions(b, p, to, at, sink, dir, h.helloRetryRequest ? "HelloRetryRequest" : "ServerHello", (type, q, end) => serverExtension(h, type, b, q, end), h.extensions);
  return h;
}

function serverExtension(h: ParsedServerHello, type: number, b: Uint8Array, p: number, end: number): boolean {
  switch (type) {
    case EXT_SUPPORTED_VERSIONS: // RFC 8446 §4.2.1: ServerHello form is selected_version(2)
      if (end - p !== 2) return false;
      h.supportedVersion = u16(b, p);
      return true;
    case EXT_ALPN: {
      // RFC 7301 §3.1: the server's list has exactly one ProtocolName.
      if (end - p < 3) return false;
      const n = u16(b, p);
      const len = b[p + 2];
      if (n !== end - p - 2 || len !== n - 1) return false;
      h.alpn = b.slice(p + 3, p + 3 + len);
      return true;
    }
    case EXT_KEY_SHARE:
    case EXT_KEY_SHARE_OLD:
      // RFC 8446 §4.2.8: ServerHello: KeyShareEntry server_share; HelloRetryRequest: NamedGroup selected_group.
      if (end - p < 2) return false;
      h.keyShareGroup = u16(b, p);
      if (h.helloRetryRequest) return end - p === 2;
      return end - p >= 4 && u16(b, p + 2) === end - p - 4;
    default:
      return true;
  }
}

// ---------------------------------------------------------------------------------------------
// SSL 2.0 (draft-hickman-netscape-ssl-00). Record header: when the high bit of the first byte is
// set, a 2-byte header with a 15-bit length and no padding (§2.1). Only the 2-byte form is read:
// the 3-byte form (with padding) is only used for encrypted records.
// ---------------------------------------------------------------------------------------------

function sslv2Length(b: Uint8Array, p: number): number {
  return ((b[p] & 0x7f) << 8) | b[p + 1];
}

/**
 * SSL 2.0 CLIENT-HELLO (§2.5): MSG-CLIENT-HELLO(1)=1 CLIENT-VERSION(2) CIPHER-SPECS-LENGTH(2)
 * SESSION-ID-LENGTH(2) CHALLENGE-LENGTH(2) CIPHER-SPECS(3 each) SESSION-ID CHALLENGE.
 * Also the "SSLv2-compatible" hello of RFC 5246 Appendix E.2 (CLIENT-VERSION 0x0301..).
 */
function parseSslv2ClientHello(b: Uint8Array, p: number, end: number, sink: Sink | null, dir: Direction): ParsedClientHello | null {
  const rec = p;
  const len = sslv2Length(b, p);
  p += 2;
  if (len > end - p || len < 9) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 CLIENT-HELLO record of ${len} bytes (${end - p} captured) is too short or cut`, dir, rec);
    return null;
  }
  const h = emptyClientHello(rec);
  h.sslv2 = true;
  h.legacyVersion = u16(b, p + 1);
  const cs = u16(b, p + 3);
  const sid = u16(b, p + 5);
  const ch = u16(b, p + 7);
  if (9 + cs + sid + ch !== len || cs % 3 !== 0) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 CLIENT-HELLO lengths (specs ${cs}, session id ${sid}, challenge ${ch}) do not add up to the record's ${len}`, dir, rec);
    if (9 + cs > len) return null;
  }
  h.sessionIdLength = sid;
  const q = p + 9;
  for (let i = 0; i + 2 < cs; i += 3) h.ciphers.push((b[q + i] << 16) | (b[q + i + 1] << 8) | b[q + i + 2]);
  return h;
}

interface Sslv2ServerHello {
  hello: ParsedServerHello;
  certFrom: number;
  certTo: number;
}

/**
 * SSL 2.0 SERVER-HELLO (§2.6): MSG-SERVER-HELLO(1)=4 SESSION-ID-HIT(1) CERTIFICATE-TYPE(1)
 * SERVER-VERSION(2) CERTIFICATE-LENGTH(2) CIPHER-SPECS-LENGTH(2) CONNECTION-ID-LENGTH(2)
 * CERTIFICATE-DATA CIPHER-SPECS-DATA CONNECTION-ID-DATA.
 */
function parseSslv2ServerHello(b: Uint8Array, p: number, end: number, sink: Sink | null, dir: Direction): Sslv2ServerHello | null {
  const rec = p;
  const len = sslv2Length(b, p);
  p += 2;
  if (end - p < 11 || len < 11) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 SERVER-HELLO record of ${len} bytes (${end - p} captured) is too short or cut`, dir, rec);
    return null;
  }
  const hello: ParsedServerHello = {
    sslv2: true,
    offset: rec,
    legacyVersion: u16(b, p + 3),
    sessionIdLength: 0,
    cipher: null,
    compressionMethod: null,
    extensions: [],
    supportedVersion: null,
    alpn: null,
    keyShareGroup: null,
    helloRetryRequest: false,
  };
  const certLen = u16(b, p + 5);
  const cs = u16(b, p + 7);
  const cid = u16(b, p + 9);
  if (11 + certLen + cs + cid !== len) {
    sink?.add("tls_sslv2_bad_length", `SSL 2.0 SERVER-HELLO lengths (certificate ${certLen}, specs ${cs}, connection id ${cid}) do not add up to the record's ${len}`, dir, rec);
  }
  const certFrom = p + 11;
  const certTo = certFrom + certLen;
  // CERTIFICATE-TYPE 1 is SSL_CT_X509_CERTIFICATE; a hit (resumed session) carries no certificate.
  if (b[p + 2] !== 1 || certLen === 0 || certTo > end) return { hello, certFrom: 0, certTo: 0 };
  return { hello, certFrom, certTo };
}

// ---------------------------------------------------------------------------------------------
// Certificates (RFC 5246 §7.4.2): certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>.
// ---------------------------------------------------------------------------------------------

/** Subject/issuer/validity/SAN of one DER certificate; null (and a tls_certificate_unparseable anomaly) when it does not parse. */
export function certificateFacts(der: Uint8Array, chainLength: number, anomalies?: Anomaly[]): CertificateFacts | null {
  return readCertificates([der], chainLength, anomalies ? new Sink(anomalies) : null, "server", 0).leaf;
}

/** The leaf's facts and the chain of the DER certificates sent (leaf first); an unparseable leaf is an anomaly. */
function readCertificates(ders: Uint8Array[], chainLength: number, sink: Sink | null, dir: Direction, offset: number, cache?: CertificateCache): Certificates {
  const r = readChain(ders, chainLength, cache);
  if (typeof r.leaf === "string") {
    sink?.add("tls_certificate_unparseable", `leaf certificate of ${ders[0].length} bytes does not parse as X.509 DER (${r.leaf})`, dir, offset);
  }
  return { leaf: typeof r.leaf === "string" ? null : r.leaf, chain: r.chain, chainsToPublicRoot: r.chainsToPublicRoot };
}

/** What a Certificate message (or an SSL 2.0 SERVER-HELLO) gave. */
interface Certificates {
  leaf: CertificateFacts | null;
  chain: ChainCertificate[];
  chainsToPublicRoot: boolean | null;
}

// ---------------------------------------------------------------------------------------------
// Record walking and handshake reassembly (one side)
// ---------------------------------------------------------------------------------------------

interface SideResult {
  clientHellos: ParsedClientHello[];
  serverHellos: ParsedServerHello[];
  certificates: Certificates | null;
  alerts: { level: string; description: string }[];
  /** The server picked TLS 1.3 (in a HelloRetryRequest or ServerHello). */
  tls13: boolean;
  sslv2ServerHello: boolean;
  /** A hello or Certificate cut by the end of this side's captured bytes. */
  truncated: TlsTruncation | null;
}

interface SideOptions {
  dir: Direction;
  /** Client side: the server selected TLS 1.3, so ChangeCipherSpec is the compatibility no-op (RFC 8446 §D.4). */
  tls13?: boolean;
  /** Client side: the server sent a HelloRetryRequest, so a second ClientHello follows. */
  hrr?: boolean;
  /** Client side: the server answered in SSL 2.0, so nothing after the CLIENT-HELLO is a TLS record. */
  sslv2Server?: boolean;
  /** Client side: no ServerHello was captured, so the server's version choice is unknown. */
  noServerHello?: boolean;
  /** Server side: the analysis's certificate cache. */
  certificates?: CertificateCache;
}

/** Reassembles handshake messages from consecutive handshake records (RFC 8446 §5.1). */
class Reassembler {
  buf: Uint8Array;
  len = 0;
  pos = 0;
  /** Pairs (buffer offset, stream offset), one per appended fragment, for mapping offsets back. */
  private readonly map: number[] = [];
  overflow = false;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  append(src: Uint8Array, from: number, to: number): void {
    const n = Math.min(to - from, this.buf.length - this.len);
    if (n < to - from) this.overflow = true;
    if (n <= 0) return;
    this.map.push(this.len, from);
    this.buf.set(src.subarray(from, from + n), this.len);
    this.len += n;
  }

  /** Stream offset of buffer offset x (binary search over fragments), as an OffsetMap. */
  readonly at: OffsetMap = (x) => this.streamOffset(x);

  streamOffset(x: number): number {
    let lo = 0;
    let hi = this.map.length / 2 - 1;
    if (hi < 0) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.map[mid * 2] <= x) lo = mid;
      else hi = mid - 1;
    }
    return this.map[lo * 2 + 1] + (x - this.map[lo * 2]);
  }
}

/** Facts a cut message leaves unreadable (null in TlsFacts), for the reason text. */
const UNREADABLE: Record<string, string> = {
  ClientHello: "clientVersion, sni, alpn, ja3 and ja4 are unknown",
  ServerHello: "version, cipher, alpnSelected and ja3s are unknown",
  Certificate: "certificates after the last whole one are not read",
};

/** The sentence naming the facts a cut `message` leaves null. */
export function unreadableFacts(message: string): string {
  return UNREADABLE[message] ?? "it is not read";
}

/** The truncation fact for a message cut at stream offset `at` (one past the last captured byte). */
export function truncation(from: Direction, message: string, declared: number, at: number, cause = "the captured bytes of this side end there (snap length, a segment not captured, or the end of the kept prefix)"): TlsTruncation {
  const what = declared >= 0 ? `${message} of ${declared} bytes is cut at byte ${at}` : `${message} header is cut at byte ${at}`;
  return { from, message, declared: declared >= 0 ? declared : null, truncatedAt: at, reason: `${what}: ${cause}; ${unreadableFacts(message)}` };
}

function walkSide(b: Uint8Array, start: number, opt: SideOptions, sink: Sink): SideResult {
  const dir = opt.dir;
  const res: SideResult = { clientHellos: [], serverHellos: [], certificates: null, alerts: [], tls13: opt.tls13 === true, sslv2ServerHello: false, truncated: null };
  const end = b.length;
  let off = start;

  // SSL 2.0 first record: 2-byte header with the high bit set (a TLS record starts with 20..24).
  if (end - off >= 3 && (b[off] & 0x80) !== 0) {
    const len = sslv2Length(b, off);
    if (dir === "client" && b[off + 2] === 1) {
      const h = parseSslv2ClientHello(b, off, end, sink, dir);
      if (h !== null) res.clientHellos.push(h);
    } else if (dir === "server" && b[off + 2] === 4) {
      const s = parseSslv2ServerHello(b, off, end, sink, dir);
      if (s !== null) {
        res.serverHellos.push(s.hello);
        res.sslv2ServerHello = true;
        if (s.certTo > s.certFrom) res.certificates = readCertificates([b.subarray(s.certFrom, s.certTo)], 1, sink, dir, s.certFrom, opt.certificates);
      }
      return res; // the rest of an SSL 2.0 conversation is SSL 2.0 records, mostly encrypted
    } else {
      return res;
    }
    // After an SSL 2.0 CLIENT-HELLO, a TLS server's answer makes the client go on in TLS records.
    off += 2 + len;
    if (opt.sslv2Server || end - off < 3 || b[off] < CT_CHANGE_CIPHER_SPEC || b[off] > CT_APPLICATION_DATA || b[off + 1] !== 3) return res;
  }

  const hs = new Reassembler(Math.min(Math.max(end - off, 0), MAX_HANDSHAKE_MESSAGE + 4));
  let hsStopped = false; // no more cleartext handshake messages will be parsed on this side
  let encrypted = false; // this side's records are encrypted from here on
  let hrrCount = 0;
  let interleaveReported = false;
  let records = 0;

  // Client side with no ServerHello captured: a client that offered TLS 1.3 and sends a
  // ChangeCipherSpec followed by a cleartext ClientHello is answering a HelloRetryRequest we did
  // not see (RFC 8446 §4.1.2, §D.4). In TLS ≤ 1.2 the record after CCS is the encrypted Finished.
  let compatCcsPending = false;
  let unseenHrr = false;
  const needClientHello = (): boolean =>
    res.clientHellos.length === 0 || ((opt.hrr === true || unseenHrr) && res.clientHellos.length === 1);

  const handleMessage = (type: number, from: number, to: number, complete: boolean): void => {
    const at = hs.at;
    const buf = hs.buf;
    if (dir === "client") {
      if (type === HT_CLIENT_HELLO && needClientHello() && complete) {
        const h = readClientHello(buf, from, to, at, sink, dir);
        if (h !== null) res.clientHellos.push(h);
      }
      return;
    }
    if (type === HT_SERVER_HELLO && complete) {
      const h = readServerHello(buf, from, to, at, sink, dir);
      if (h === null) return;
      res.serverHellos.push(h);
      const v = h.supportedVersion ?? h.legacyVersion;
      const is13 = v === 0x0304 || v >> 8 === 0x7f;
      if (h.helloRetryRequest) {
        hrrCount++;
        // RFC 8446 §4.1.4: a client receiving a second HelloRetryRequest must abort.
        if (hrrCount === 2) sink.add("tls_second_hello_retry_request", "server sent a second HelloRetryRequest", dir, h.offset);
        res.tls13 = true;
      } else if (is13) {
        // Everything the server sends after a TLS 1.3 ServerHello is encrypted (RFC 8446 §2).
        res.tls13 = true;
        hsStopped = true;
      }
      return;
    }
    if (type === HT_HELLO_RETRY_REQUEST_DRAFT && complete && to - from >= 2) {
      const h = parseServerHelloDraftHrr(buf, from, to, hs.streamOffset(from - 4));
      res.serverHellos.push(h);
      res.tls13 = true;
      hrrCount++;
      return;
    }
    if (type === HT_CERTIFICATE && !res.tls13 && res.certificates === null) {
      res.certificates = parseCertificateMessage(buf, from, to, complete, at, sink, dir, opt.certificates);
    }
  };

  const drain = (): void => {
    while (!hsStopped && hs.len - hs.pos >= 4) {
      const type = hs.buf[hs.pos];
      const mlen = u24(hs.buf, hs.pos + 1);
      if (mlen > MAX_HANDSHAKE_MESSAGE) {
        sink.add("tls_handshake_too_long", `handshake message type ${type} declares ${mlen} bytes, over the ${MAX_HANDSHAKE_MESSAGE}-byte limit`, dir, hs.streamOffset(hs.pos));
        hsStopped = true;
        return;
      }
      if (hs.len - hs.pos - 4 < mlen) return; // wait for the next record
      handleMessage(type, hs.pos + 4, hs.pos + 4 + mlen, true);
      hs.pos += 4 + mlen;
      if (dir === "client" && !needClientHello()) hsStopped = true;
    }
  };

  while (off < end) {
    if (records >= MAX_RECORDS) break;
    if (end - off < 5) break; // a record header cut by the end of the captured stream
    const type = b[off];
    const major = b[off + 1];
    const len = u16(b, off + 3);
    if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT) {
      sink.add("tls_bad_record_type", `record content type ${type} is not a TLS content type (20-24); the stream is not TLS records from here`, dir, off);
      break;
    }
    if (major !== 3) {
      sink.add("tls_bad_record_version", `record version 0x${major.toString(16).padStart(2, "0")}${b[off + 2].toString(16).padStart(2, "0")} is not 3.x`, dir, off);
      break;
    }
    if (len > MAX_RECORD_LENGTH) {
      sink.add("tls_record_too_long", `record length ${len} exceeds 2^14+2048 (${MAX_RECORD_LENGTH})`, dir, off);
      break;
    }
    records++;
    const fragFrom = off + 5;
    const fragTo = Math.min(fragFrom + len, end);
    if (len === 0 && type !== CT_APPLICATION_DATA) {
      // RFC 8446 §5.1 / RFC 5246 §6.2.1: zero-length fragments of handshake, alert or CCS must not be sent.
      sink.add("tls_empty_record", `zero-length record of content type ${type}`, dir, off);
    }
    if (type !== CT_HANDSHAKE && hs.pos < hs.len && !hsStopped && !encrypted && !interleaveReported) {
      // RFC 8446 §5.1: handshake messages must not be interleaved with other record types.
      sink.add("tls_handshake_interleaved", `record of content type ${type} arrives in the middle of a handshake message`, dir, off);
      interleaveReported = true;
    }
    if (compatCcsPending) {
      compatCcsPending = false;
      const first = res.clientHellos[0];
      if (type === CT_HANDSHAKE && len >= 4 && fragTo - fragFrom >= 4 && b[fragFrom] === HT_CLIENT_HELLO && u24(b, fragFrom + 1) >= len - 4 && first !== undefined && first.supportedVersions.includes(0x0304)) {
        unseenHrr = true;
        hsStopped = false;
      } else {
        encrypted = true;
        hsStopped = true;
      }
    }
    if (type === CT_HANDSHAKE) {
      if (!hsStopped && !encrypted) {
        hs.append(b, fragFrom, fragTo);
        drain();
      }
    } else if (type === CT_CHANGE_CIPHER_SPEC) {
      // TLS ≤ 1.2: this side encrypts from the next record on (RFC 5246 §7.1). TLS 1.3: a no-op
      // for middleboxes (RFC 8446 §D.4); the second ClientHello after an HRR may follow it.
      if (opt.noServerHello === true && dir === "client" && res.clientHellos.length === 1 && !res.clientHellos[0].sslv2) {
        compatCcsPending = true;
      } else if (!res.tls13) {
        encrypted = true;
        hsStopped = true;
      }
    } else if (type === CT_ALERT && len > 0 && res.alerts.length < MAX_ALERTS) {
      // An alert in clear is one 2-byte message (RFC 5246 §7.2, RFC 8446 §6). A longer alert
      // record carries an IV, a MAC or an AEAD tag (a GCM alert is 26 bytes, ChaCha20 18, CBC
      // 48+): it is encrypted, whatever we saw before it — a capture that began mid-stream shows
      // such a record with no handshake at all. So is any alert after this side's
      // ChangeCipherSpec (TLS ≤ 1.2). Its bytes are ciphertext: never read a level or a
      // description from them (issue 18); say "encrypted".
      if (encrypted || len !== 2) {
        res.alerts.push({ level: "encrypted", description: ENCRYPTED_ALERT });
      } else if (fragTo - fragFrom === 2) {
        const level = b[fragFrom];
        res.alerts.push({ level: level === 1 ? "warning" : level === 2 ? "fatal" : "0x" + level.toString(16).padStart(2, "0"), description: alertDescriptionName(b[fragFrom + 1]) });
      }
    }
    // CT_APPLICATION_DATA and CT_HEARTBEAT carry nothing we read.
    off = fragFrom + len;
  }

  // A message cut by the end of the captured bytes: say so for the messages we read, and read a
  // cut Certificate as far as it goes (the leaf usually comes first and whole).
  if (!hsStopped && hs.len - hs.pos >= 1) {
    const type = hs.buf[hs.pos];
    const have = hs.len - hs.pos;
    const declared = have >= 4 ? u24(hs.buf, hs.pos + 1) : -1;
    const relevant =
      dir === "client" ? type === HT_CLIENT_HELLO && needClientHello() : type === HT_SERVER_HELLO || (type === HT_CERTIFICATE && !res.tls13 && res.certificates === null);
    if (relevant) {
      const name = type === HT_CLIENT_HELLO ? "ClientHello" : type === HT_SERVER_HELLO ? "ServerHello" : "Certificate";
      sink.add(
        "tls_handshake_truncated",
        declared >= 0 ? `${name} of ${declared} bytes is cut after ${have - 4} bytes by the end of the captured stream` : `${name} header is cut by the end of the captured stream`,
        dir,
        hs.streamOffset(hs.pos),
      );
      res.truncated = truncation(dir, name, declared, hs.streamOffset(hs.len - 1) + 1);
      // ServerHello body: legacy_version first (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3).
      if (type === HT_SERVER_HELLO && have >= 6) res.truncated.legacyVersion = (hs.buf[hs.pos + 4] << 8) | hs.buf[hs.pos + 5];
      if (type === HT_CERTIFICATE && have >= 4) handleMessage(type, hs.pos + 4, hs.len, false);
    }
  }
  if (hs.overflow && !hsStopped) {
    sink.add("tls_handshake_too_long", `more than ${MAX_HANDSHAKE_MESSAGE} bytes of handshake data on one side; the rest was not read`, dir, start);
  }
  return res;
}

/** Draft TLS 1.3 HelloRetryRequest (type 6, drafts ≤ 21): server_version(2) [cipher_suite(2)] extensions. */
function parseServerHelloDraftHrr(b: Uint8Array, from: number, _to: number, offset: number): ParsedServerHello {
  return {
    sslv2: false,
    offset,
    legacyVersion: u16(b, from),
    sessionIdLength: 0,
    cipher: null,
    compressionMethod: null,
    extensions: [],
    supportedVersion: null,
    alpn: null,
    keyShareGroup: null,
    helloRetryRequest: true,
  };
}

/** TLS ≤ 1.2 Certificate: certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1>; leaf first. */
function parseCertificateMessage(
  b: Uint8Array,
  from: number,
  to: number,
  complete: boolean,
  at: OffsetMap,
  sink: Sink,
  dir: Direction,
  cache?: CertificateCache,
): Certificates | null {
  if (to - from < 3) {
    if (complete) sink.add("tls_bad_certificate_message", `Certificate message of ${to - from} bytes has no list length`, dir, at(from));
    return null;
  }
  const listLen = u24(b, from);
  let p = from + 3;
  if (complete && listLen !== to - p) {
    sink.add("tls_bad_certificate_message", `Certificate list length ${listLen} does not match the message's ${to - p} bytes`, dir, at(from));
  }
  const listEnd = Math.min(p + listLen, to);
  let count = 0;
  let leafAt = -1;
  const ders: Uint8Array[] = [];
  while (listEnd - p >= 3) {
    const clen = u24(b, p);
    if (clen > listEnd - p - 3) {
      if (complete) sink.add("tls_bad_certificate_message", `certificate of ${clen} bytes runs past the list (${listEnd - p - 3} left)`, dir, at(p));
      break;
    }
    if (count === 0) leafAt = p + 3;
    // Bounded: a chain longer than MAX_CHAIN is counted but not parsed (X509Certificate costs ~0.3 ms each).
    if (ders.length < MAX_CHAIN) ders.push(b.slice(p + 3, p + 3 + clen));
    count++;
    p += 3 + clen;
  }
  if (count === 0) {
    if (complete) sink.add("tls_empty_certificate_chain", "server sent a Certificate message with no certificate", dir, at(from));
    return null;
  }
  return readCertificates(ders, count, sink, dir, at(leafAt), cache);
}

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
    const len = sslv2Length(bytes, s);
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

// ---------------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------------

/** A TlsFacts with nothing seen yet. */
export function emptyTlsFacts(): TlsFacts {
  return {
    clientVersionCode: null,
    versionCode: null,
    clientVersion: null,
    version: null,
    sni: null,
    alpn: [],
    alpnSelected: null,
    cipher: null,
    ja3: null,
    ja3s: null,
    ja4: null,
    certificate: null,
    certificateVisible: null,
    chain: [],
    chainsToPublicRoot: null,
    truncated: [],
    helloRetryRequest: false,
    clientHelloSeen: false,
    serverHelloSeen: false,
    alerts: [],
  };
}

/** The highest version a ClientHello offers: supported_versions without GREASE, else legacy_version. */
export function clientMaxVersion(h: ParsedClientHello): number {
  let v = -1;
  for (const x of h.supportedVersions) if (!isGrease(x) && x > v) v = x;
  return v >= 0 ? v : h.legacyVersion;
}

/** The version a ServerHello selects: supported_versions, else its version field. */
export function serverSelectedVersion(h: ParsedServerHello): number {
  return h.supportedVersion ?? h.legacyVersion;
}

function alpnString(p: Uint8Array): string {
  return printable(p, 0, p.length);
}

function clampStart(start: number | undefined, len: number): number {
  if (start === undefined || !Number.isFinite(start) || start < 0) return 0;
  return Math.min(Math.floor(start), len);
}

/** Everything read from one conversation's cleartext handshake, before it is summarised as TlsFacts. */
export interface TlsHandshake {
  /** The first ClientHello, and the second one after a HelloRetryRequest. */
  clientHellos: ParsedClientHello[];
  /** Every ServerHello in order: a HelloRetryRequest, then the real ServerHello (or an SSL 2.0 SERVER-HELLO). */
  serverHellos: ParsedServerHello[];
  /** The leaf of the cleartext Certificate message (or SSL 2.0 SERVER-HELLO). */
  certificate: CertificateFacts | null;
  /** Every certificate of it that parses, leaf first. */
  chain: ChainCertificate[];
  /** Whether that chain leads to a root of Node's store; null when no leaf was read. */
  chainsToPublicRoot: boolean | null;
  /** The server chose TLS 1.3 (its Certificate is encrypted). */
  tls13: boolean;
  /** Hellos or Certificates cut by the end of the captured bytes, client's first. */
  truncated: TlsTruncation[];
  alerts: { from: Direction; level: string; description: string }[];
}

/**
 * Reads the cleartext handshake from both in-order streams (from the given offsets). Problems are
 * pushed to `anomalies` (at most 32). Never throws.
 */
export function parseTlsHandshake(
  client: Uint8Array,
  server: Uint8Array,
  anomalies: Anomaly[],
  clientStart?: number,
  serverStart?: number,
  certificates?: CertificateCache,
): TlsHandshake {
  const hs: TlsHandshake = { clientHellos: [], serverHellos: [], certificate: null, chain: [], chainsToPublicRoot: null, tls13: false, truncated: [], alerts: [] };
  const sink = new Sink(anomalies);
  try {
    const cs = clampStart(clientStart, client.length);
    const ss = clampStart(serverStart, server.length);
    // The server side first: whether it chose TLS 1.3 or sent a HelloRetryRequest decides how the
    // client's ChangeCipherSpec and a second ClientHello are read.
    const srv = walkSide(server, ss, { dir: "server", certificates }, sink);
    const hrr = srv.serverHellos.some((h) => h.helloRetryRequest);
    const cli = walkSide(client, cs, { dir: "client", tls13: srv.tls13, hrr, sslv2Server: srv.sslv2ServerHello, noServerHello: srv.serverHellos.length === 0 }, sink);
    hs.clientHellos = cli.clientHellos;
    hs.serverHellos = srv.serverHellos;
    hs.certificate = srv.certificates?.leaf ?? null;
    hs.chain = srv.certificates?.chain ?? [];
    hs.chainsToPublicRoot = srv.certificates?.chainsToPublicRoot ?? null;
    hs.tls13 = srv.tls13;
    if (cli.truncated !== null) hs.truncated.push(cli.truncated);
    if (srv.truncated !== null) hs.truncated.push(srv.truncated);
    for (const a of cli.alerts) hs.alerts.push({ from: "client", level: a.level, description: a.description });
    for (const a of srv.alerts) hs.alerts.push({ from: "server", level: a.level, description: a.description });

    // Cross-checks between the hello the server answered and its answer.
    const answered = cli.clientHellos[cli.clientHellos.length - 1];
    const last = srv.serverHellos[srv.serverHellos.length - 1];
    if (answered !== undefined && last !== undefined && !answered.sslv2 && !last.sslv2 && !last.helloRetryRequest) {
      const chosen = serverSelectedVersion(last);
      const offered = answered.supportedVersions.length > 0 ? answered.supportedVersions.includes(chosen) : chosen <= answered.legacyVersion;
      if (!offered) {
        sink.add("tls_version_not_offered", `server chose ${tlsVersionName(chosen)}, which the ClientHello did not offer (highest ${tlsVersionName(clientMaxVersion(answered))})`, "server", last.offset);
      }
      if (last.cipher !== null && !answered.ciphers.includes(last.cipher)) {
        sink.add("tls_cipher_not_offered", `server chose cipher ${cipherName(last.cipher)}, which the ClientHello did not offer`, "server", last.offset);
      }
    }
  } catch (e) {
    // Defence in depth: the parsers bounds-check every read, so this is a bug, not bad input.
    sink.add("tls_internal_error", `TLS analysis stopped: ${e instanceof Error ? e.message : String(e)}`, "client", 0);
  }
  return hs;
}

/**
 * Summarises parsed hellos into `tls` as tshark reports them: clientVersion / sni / alpn / ja3 /
 * ja4 from the FIRST ClientHello; version / cipher / alpnSelected / ja3s from the LAST ServerHello
 * (the real one after a HelloRetryRequest). `transport` is JA4's first character: "t" for TLS over
 * TCP, "q" for QUIC. Used by analyzeTls and by the QUIC detector (the hellos from CRYPTO frames).
 */
export function fillHelloFacts(tls: TlsFacts, clientHellos: readonly ParsedClientHello[], serverHellos: readonly ParsedServerHello[], transport: "t" | "q"): void {
  const first = clientHellos[0];
  const last = serverHellos[serverHellos.length - 1];
  tls.clientHelloSeen = first !== undefined;
  tls.serverHelloSeen = last !== undefined;
  tls.helloRetryRequest = serverHellos.some((h) => h.helloRetryRequest);
  if (first !== undefined) {
    tls.clientVersionCode = clientMaxVersion(first);
    tls.clientVersion = tlsVersionName(tls.clientVersionCode);
    tls.sni = first.serverName;
    for (const p of first.alpn) if (!isGreaseAlpn(p)) tls.alpn.push(alpnString(p));
    if (!first.sslv2) {
      // tshark 4.0 computes no JA3 for an SSL 2.0 CLIENT-HELLO, and JA4 is defined on the TLS ClientHello.
      tls.ja3 = ja3(first).hash;
      tls.ja4 = ja4(first, transport);
    }
  }
  if (last !== undefined) {
    tls.versionCode = serverSelectedVersion(last);
    tls.version = tlsVersionName(tls.versionCode);
    if (last.cipher !== null) tls.cipher = cipherName(last.cipher);
    if (last.alpn !== null) tls.alpnSelected = alpnString(last.alpn);
    if (!last.sslv2) tls.ja3s = ja3s(last).hash;
  }
}

/**
 * Parse the TLS handshake in the client's and server's in-order streams from the given offsets;
 * fill out.tls (create it) and push anomalies to out.anomalies. Returns true when a ClientHello or
 * ServerHello was found. Never throws. `certificates` is the analysis's cache (StreamSample.certificates).
 *
 * clientVersion / sni / alpn / ja3 / ja4 come from the FIRST ClientHello; version / cipher /
 * alpnSelected / ja3s from the LAST ServerHello (the real one after a HelloRetryRequest), as
 * tshark reports them.
 */
export function analyzeTls(
  client: Uint8Array,
  server: Uint8Array,
  out: ConversationFacts,
  clientStart?: number,
  serverStart?: number,
  certificates?: CertificateCache,
): boolean {
  const tls = emptyTlsFacts();
  out.tls = tls;
  try {
    const hs = parseTlsHandshake(client, server, out.anomalies, clientStart, serverStart, certificates);
    fillHelloFacts(tls, hs.clientHellos, hs.serverHellos, "t");
    tls.certificate = hs.certificate;
    tls.chain = hs.chain;
    tls.chainsToPublicRoot = hs.chainsToPublicRoot;
    tls.certificateVisible = hs.chain.length > 0 || hs.certificate !== null ? true : hs.tls13 ? false : null;
    tls.truncated = hs.truncated;
    tls.alerts = hs.alerts;
    // A ServerHello cut after its legacy_version still tells an SSL 3.0 – TLS 1.1 choice: only
    // 0x0303 could hide TLS 1.3 behind supported_versions (RFC 8446 §4.2.1).
    const cut = hs.truncated.find((t) => t.from === "server" && t.message === "ServerHello" && t.legacyVersion !== undefined);
    if (tls.version === null && cut && cut.legacyVersion! >= 0x0300 && cut.legacyVersion! < 0x0303) {
      tls.versionCode = cut.legacyVersion!;
      tls.version = tlsVersionName(cut.legacyVersion!);
      tls.serverHelloSeen = true;
    }
  } catch (e) {
    out.anomalies.push({ name: "tls_internal_error", message: `TLS analysis stopped: ${e instanceof Error ? e.message : String(e)}` });
  }
  return tls.clientHelloSeen || tls.serverHelloSeen;
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

// ---------------------------------------------------------------------------------------------
// Detector
// ---------------------------------------------------------------------------------------------

/**
 * How many complete, well-formed TLS records (RFC 8446 §5.1 / RFC 5246 §6.2.1: content type
 * 20–23, version 3.1–3.4, length ≤ 2^14 + 2048) follow each other from the start of `b` (≤ 3).
 */
function recordChain(b: Uint8Array): number {
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

export const tlsDetector: Detector = {
  protocol: "tls",
  transports: ["tcp"],
  ports: [443, 3542, 3545, 8443, 993, 995, 465, 636, 990, 5061],
  byContent: true,
  minBytes: 1,
  maxBytes: 11,
  probe(s: StreamSample): ProbeResult {
    const c = probeTlsClient(s.client, 0);
    if (c === "match") return "match";
    if (c === "more" && s.client.length > 0 && !s.clientDone) return "more";
    // The client's first bytes were not captured (capture started late, or a lost segment): a
    // ServerHello (or SSL 2.0 SERVER-HELLO) from the server still says TLS.
    if (s.client.length === 0 || s.clientGap) {
      const v = probeTlsServer(s.server, 0);
      // A lone alert record is judged by the record rules below.
      if (v === "match" && (s.server[0] === CT_HANDSHAKE || (s.server[0] & 0x80) !== 0)) return "match";
      if (v === "more" && !s.serverDone) return "more";
      if (s.client.length === 0 && !s.clientDone) return "more";
    }
    if (c === "more" && !s.clientDone) return "more";
    // A capture that began mid-connection shows only records (application data, alerts…):
    // two well-formed records in a row from one side, or one from each, are TLS as well
    // (tshark labels such streams TLS too). Random binary almost never tiles that way.
    const cc = recordChain(s.client);
    const sc = recordChain(s.server);
    if (cc >= 2 || sc >= 2 || (cc >= 1 && sc >= 1)) return "match";
    // Issue 18: one well-formed record header on each side that sent bytes is TLS too — a
    // capture that began mid-stream may show one encrypted alert (15 03 03 00 1a …) and nothing
    // else; a server that answers a ClientHello with one alert record is TLS.
    const ch = s.client.length === 0 || startsWithRecord(s.client);
    const sh = s.server.length === 0 || startsWithRecord(s.server);
    return ch && sh && s.client.length + s.server.length > 0 ? "match" : "no";
  },
  analyze(s: StreamSample, out: ConversationFacts): void {
    analyzeTls(s.client, s.server, out, 0, 0, s.certificates);
  },
};
