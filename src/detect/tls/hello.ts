/**
 * ClientHello, ServerHello and HelloRetryRequest bodies (RFC 8446 §4.1.2-4.1.4, RFC 5246
 * §7.4.1) and the extensions that matter for reporting and fingerprints (RFC 8446 §4.2, RFC 6066
 * §3 SNI, RFC 7301 ALPN, RFC 8422 §5.1 groups / point formats).
 */
import { Cursor } from "../../bytes/cursor.js";
import type { Anomaly, Direction } from "../types.js";
import { emptyServerHello, EXT_ALPN, EXT_EC_POINT_FORMATS, EXT_KEY_SHARE, EXT_KEY_SHARE_OLD, EXT_SERVER_NAME, EXT_SIGNATURE_ALGORITHMS, EXT_SUPPORTED_GROUPS, EXT_SUPPORTED_VERSIONS, HRR_RANDOM, IDENTITY, type OffsetMap, type ParsedClientHello, type ParsedServerHello, Sink, extensionName, isGrease, isPrintableHost, printable } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// Hello parsers. They read the handshake message body through a cursor bounded to it (its 4-byte
// header is just before it); `at` maps buffer offsets to offsets in the sender's stream for
// anomalies.
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

/**
 * Reads a uint16 list `<len(lenBytes)>{u16...}` that must fill the rest of `c` (an extension's
 * data) into out; false when malformed.
 */
export function readU16List(c: Cursor, lenBytes: 1 | 2, out: number[]): boolean {
  const n = c.uint(lenBytes);
  if (n < 0 || n % 2 !== 0 || n > c.left) return false;
  for (let i = 0; i < n; i += 2) out.push(c.u16());
  return c.left === 0;
}

/**
 * Parses a ClientHello body (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2; RFC 6101 §5.6.1.2):
 *   legacy_version(2) random(32) legacy_session_id<0..32> cipher_suites<2..2^16-2>
 *   legacy_compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 * `c` reads the body (its 4-byte handshake header is just before it). Returns null when the
 * fixed part is unreadable; extension problems are anomalies and the extension is kept in
 * `extensions` (as tshark and JA3 count it).
 */
export function readClientHello(c: Cursor, at: OffsetMap, sink: Sink | null, dir: Direction): ParsedClientHello | null {
  const from = c.pos;
  const h = emptyClientHello(at(from - 4));
  const bad = (name: string, msg: string, x: number) => sink?.add(name, msg, dir, at(x));
  if (c.left < 2 + 32 + 1) {
    bad("tls_hello_too_short", `ClientHello body of ${c.left} bytes ends before its session id`, from);
    return null;
  }
  h.legacyVersion = c.u16();
  c.skip(32); // random
  const sid = c.u8();
  if (sid > 32) bad("tls_bad_session_id_length", `ClientHello session id length ${sid} exceeds 32`, c.pos - 1);
  if (!c.skip(sid)) {
    bad("tls_hello_too_short", `ClientHello session id of ${sid} bytes runs past the message (${c.left} left)`, c.pos - 1);
    return null;
  }
  h.sessionIdLength = sid;
  if (c.left < 2) {
    bad("tls_hello_too_short", "ClientHello ends before its cipher suites", c.pos);
    return null;
  }
  const cs = c.u16();
  if (cs > c.left) {
    bad("tls_bad_cipher_suites_length", `ClientHello cipher_suites length ${cs} runs past the message (${c.left} left)`, c.pos - 2);
    return null;
  }
  if (cs % 2 !== 0 || cs === 0) bad("tls_bad_cipher_suites_length", `ClientHello cipher_suites length ${cs} is ${cs === 0 ? "zero" : "odd"}`, c.pos - 2);
  const suitesEnd = c.pos + cs;
  while (suitesEnd - c.pos >= 2) h.ciphers.push(c.u16());
  c.skip(suitesEnd - c.pos); // the odd byte of an odd length
  if (c.left < 1) {
    bad("tls_hello_too_short", "ClientHello ends before its compression methods", c.pos);
    return null;
  }
  const cm = c.u8();
  if (cm > c.left) {
    bad("tls_bad_compression_methods", `ClientHello compression_methods length ${cm} runs past the message (${c.left} left)`, c.pos - 1);
    return null;
  }
  if (cm === 0) bad("tls_bad_compression_methods", "ClientHello offers no compression method (at least null is required)", c.pos - 1);
  for (let i = 0; i < cm; i++) h.compressionMethods.push(c.u8());
  if (c.left === 0) return h; // RFC 5246 §7.4.1.2: extensions may be absent (SSL 3.0, old TLS).
  parseExtensions(c, at, sink, dir, "ClientHello", h, null);
  return h;
}

/**
 * Walks `extensions<0..2^16-1>` (RFC 8446 §4.2), the rest of `c`: type(2) length(2) data. Every
 * type is appended to the hello's `extensions`; the ones we know are read (through a cursor
 * bounded to their data) into `client` or `server`, and data that does not parse is an anomaly.
 */
function parseExtensions(
  c: Cursor,
  at: OffsetMap,
  sink: Sink | null,
  dir: Direction,
  what: string,
  client: ParsedClientHello | null,
  server: ParsedServerHello | null,
): void {
  if (c.left < 2) {
    sink?.add("tls_bad_extensions_length", `${what} has ${c.left} byte(s) where the extensions length should be`, dir, at(c.pos));
    return;
  }
  let total = c.u16();
  if (total > c.left) {
    sink?.add("tls_bad_extensions_length", `${what} extensions length ${total} runs past the message (${c.left} left)`, dir, at(c.pos - 2));
    total = c.left;
  } else if (total < c.left) {
    sink?.add("tls_trailing_bytes", `${what} has ${c.left - total} byte(s) after its extensions`, dir, at(c.pos + total));
  }
  const block = new Cursor();
  const data = new Cursor();
  c.sub(total, block);
  const types = client !== null ? client.extensions : server!.extensions;
  // RFC 8446 §4.2: no more than one extension of each type. A bitmap over the 16-bit space costs
  // 8 KiB once and keeps 10,000 extensions linear.
  let seen: Uint8Array | null = null;
  let dupReported = false;
  while (block.left > 0) {
    const p = block.pos;
    if (block.left < 4) {
      sink?.add("tls_bad_extension_length", `${what} has ${block.left} stray byte(s) where an extension header should be`, dir, at(p));
      return;
    }
    const type = block.u16();
    const len = block.u16();
    types.push(type);
    if (!block.sub(len, data)) {
      sink?.add("tls_bad_extension_length", `${what} extension ${extensionName(type)} length ${len} runs past the extensions block (${block.left} left)`, dir, at(p));
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
    const fine = client !== null ? clientExtension(client, type, data, at, sink, dir) : serverExtension(server!, type, data);
    if (!fine) {
      sink?.add("tls_bad_extension_length", `${what} extension ${extensionName(type)} (${len} bytes) has inconsistent inner lengths`, dir, at(p));
    }
  }
}

/** One ClientHello extension's data (all of `c`) into `h`; false when its inner lengths do not add up. */
function clientExtension(h: ParsedClientHello, type: number, c: Cursor, at: OffsetMap, sink: Sink | null, dir: Direction): boolean {
  switch (type) {
    case EXT_SERVER_NAME: {
      // RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>; entry: name_type(1) HostName<1..2^16-1>.
      // An empty extension is what a server sends back; a client must send a list.
      if (c.left === 0) return true;
      const n = c.u16();
      if (n < 0 || n !== c.left) return false;
      while (c.left > 0) {
        const nameType = c.u8();
        const len = c.u16();
        if (len < 0 || len > c.left) return false;
        const b = c.buf;
        const p = c.pos;
        if (nameType === 0 && h.serverName === null) {
          if (!isPrintableHost(b, p, p + len)) {
            sink?.add("tls_bad_sni", `server_name host name of ${len} bytes is empty or not printable ASCII`, dir, at(p));
          }
          h.serverName = printable(b, p, p + len);
        }
        c.skip(len);
      }
      return true;
    }
    case EXT_SUPPORTED_GROUPS: // RFC 8446 §4.2.7: NamedGroup named_group_list<2..2^16-1>
      return readU16List(c, 2, h.supportedGroups);
    case EXT_EC_POINT_FORMATS: {
      // RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>
      const n = c.u8();
      if (n < 0 || n !== c.left) return false;
      for (let i = 0; i < n; i++) h.ecPointFormats.push(c.u8());
      return true;
    }
    case EXT_SIGNATURE_ALGORITHMS: // RFC 8446 §4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>
      return readU16List(c, 2, h.signatureAlgorithms);
    case EXT_ALPN: {
      // RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>; ProtocolName opaque<1..2^8-1>.
      const n = c.u16();
      if (n < 0 || n !== c.left) return false;
      while (c.left > 0) {
        const name = c.bytes(c.u8());
        if (name === null) return false;
        h.alpn.push(name);
      }
      return true;
    }
    case EXT_SUPPORTED_VERSIONS: // RFC 8446 §4.2.1: ProtocolVersion versions<2..254> (ClientHello form)
      return readU16List(c, 1, h.supportedVersions);
    case EXT_KEY_SHARE:
    case EXT_KEY_SHARE_OLD: {
      // RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>; entry: group(2) key_exchange<1..2^16-1>.
      const n = c.u16();
      if (n < 0 || n !== c.left) return false;
      while (c.left > 0) {
        const group = c.u16();
        const len = c.u16();
        if (len < 0 || !c.skip(len)) return false;
        h.keyShareGroups.push(group);
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
  const h = readClientHello(new Cursor(body), IDENTITY, anomalies ? new Sink(anomalies) : null, "client");
  if (h !== null) h.offset = 0;
  return h;
}

/** Parses a ServerHello (or HelloRetryRequest) body, like parseClientHello. */
export function parseServerHello(body: Uint8Array, anomalies?: Anomaly[]): ParsedServerHello | null {
  const h = readServerHello(new Cursor(body), IDENTITY, anomalies ? new Sink(anomalies) : null, "server");
  if (h !== null) h.offset = 0;
  return h;
}

/** The next bytes of `c` are `x` (without moving). */
function nextIs(c: Cursor, x: Uint8Array): boolean {
  if (c.left < x.length) return false;
  for (let i = 0; i < x.length; i++) if (c.buf[c.pos + i] !== x[i]) return false;
  return true;
}

/**
 * Parses a ServerHello body (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3), `c` bounded to it:
 *   legacy_version(2) random(32) legacy_session_id_echo<0..32> cipher_suite(2)
 *   legacy_compression_method(1) [extensions<6..2^16-1>]
 * TLS 1.3 drafts before -22 (server_version 0x7fNN, NN < 22) had no session id and no
 * compression method. A random equal to HRR_RANDOM makes it a HelloRetryRequest.
 */
export function readServerHello(c: Cursor, at: OffsetMap, sink: Sink | null, dir: Direction): ParsedServerHello | null {
  const from = c.pos;
  const h = emptyServerHello(at(from - 4), 0);
  const bad = (name: string, msg: string, x: number) => sink?.add(name, msg, dir, at(x));
  if (c.left < 2 + 32) {
    bad("tls_hello_too_short", `ServerHello body of ${c.left} bytes ends inside its random`, from);
    return null;
  }
  h.legacyVersion = c.u16();
  h.helloRetryRequest = nextIs(c, HRR_RANDOM);
  c.skip(32);
  const oldDraft = h.legacyVersion >> 8 === 0x7f && (h.legacyVersion & 0xff) < 22;
  if (!oldDraft) {
    if (c.left < 1) {
      bad("tls_hello_too_short", "ServerHello ends before its session id", c.pos);
      return null;
    }
    const sid = c.u8();
    if (sid > 32) bad("tls_bad_session_id_length", `ServerHello session id length ${sid} exceeds 32`, c.pos - 1);
    if (!c.skip(sid)) {
      bad("tls_hello_too_short", `ServerHello session id of ${sid} bytes runs past the message (${c.left} left)`, c.pos - 1);
      return null;
    }
    h.sessionIdLength = sid;
  }
  if (c.left < 2) {
    bad("tls_hello_too_short", "ServerHello ends before its cipher suite", c.pos);
    return null;
  }
  h.cipher = c.u16();
  if (!oldDraft) {
    if (c.left < 1) {
      bad("tls_hello_too_short", "ServerHello ends before its compression method", c.pos);
      return null;
    }
    h.compressionMethod = c.u8();
  }
  if (c.left === 0) return h;
  parseExtensions(c, at, sink, dir, h.helloRetryRequest ? "HelloRetryRequest" : "ServerHello", null, h);
  return h;
}

/** One ServerHello / HelloRetryRequest extension's data (all of `c`) into `h`; false when malformed. */
function serverExtension(h: ParsedServerHello, type: number, c: Cursor): boolean {
  switch (type) {
    case EXT_SUPPORTED_VERSIONS: // RFC 8446 §4.2.1: ServerHello form is selected_version(2)
      if (c.left !== 2) return false;
      h.supportedVersion = c.u16();
      return true;
    case EXT_ALPN: {
      // RFC 7301 §3.1: the server's list has exactly one ProtocolName.
      if (c.left < 3) return false;
      const n = c.u16();
      const len = c.u8();
      if (n !== c.left + 1 || len !== n - 1) return false;
      h.alpn = c.bytes(len);
      return true;
    }
    case EXT_KEY_SHARE:
    case EXT_KEY_SHARE_OLD: {
      // RFC 8446 §4.2.8: ServerHello: KeyShareEntry server_share; HelloRetryRequest: NamedGroup selected_group.
      if (c.left < 2) return false;
      h.keyShareGroup = c.u16();
      if (h.helloRetryRequest) return c.left === 0;
      if (c.left < 2) return false;
      return c.u16() === c.left; // key_exchange<1..2^16-1> fills the rest
    }
    default:
      return true;
  }
}
