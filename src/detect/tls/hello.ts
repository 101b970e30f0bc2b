/**
 * ClientHello, ServerHello and HelloRetryRequest bodies (RFC 8446 §4.1.2-4.1.4, RFC 5246
 * §7.4.1) and the extensions that matter for reporting and fingerprints (RFC 8446 §4.2, RFC 6066
 * §3 SNI, RFC 7301 ALPN, RFC 8422 §5.1 groups / point formats).
 */
import type { Anomaly, Direction } from "../types.js";
import { emptyServerHello, EXT_ALPN, EXT_EC_POINT_FORMATS, EXT_KEY_SHARE, EXT_KEY_SHARE_OLD, EXT_SERVER_NAME, EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS, EXT_SUPPORTED_VERSIONS, HRR_RANDOM, IDENTITY, type OffsetMap, type ParsedClientHello, type ParsedServerHello, Sink, extensionName, isGrease, isPrintableHost, printable, u16 } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// Hello parsers. `b[from, to)` is the handshake message body (its 4-byte header is just before
// it); `at` maps offsets in b to offsets in the sender's stream for anomalies.
// ---------------------------------------------------------------------------------------------

export function emptyClientHello(offset: number): ParsedClientHello {
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
export function readU16List(b: Uint8Array, p: number, end: number, lenBytes: 1 | 2, out: number[]): boolean {
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
export function readClientHello(b: Uint8Array, from: number, to: number, at: OffsetMap, sink: Sink | null, dir: Direction): ParsedClientHello | null {
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
export function readServerHello(b: Uint8Array, from: number, to: number, at: OffsetMap, sink: Sink | null, dir: Direction): ParsedServerHello | null {
  const h = emptyServerHello(at(from - 4), 0);
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
