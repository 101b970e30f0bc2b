/**
 * TLS after a binary cleartext preamble (issue 17, docs/detectors/tunnels.md): SOCKS 4/4a/5, the
 * PostgreSQL SSLRequest and LDAP StartTLS. Each preamble is read from both sides; the conversation
 * is this detector's (`tls`) only when a TLS handshake follows the preamble on at least one side,
 * so a SOCKS connection that carries SSH, or a PostgreSQL server that answers 'N', is not `tls`.
 * HTTP CONNECT is read by http.ts and the text STARTTLS by the plaintext fallback; both fill the
 * same `tunnel` fact.
 *
 * Every reader returns where the preamble ends on each side (-1: not this preamble, or cut) and
 * never reads past the end of its buffer.
 */
import { Cursor } from "../bytes/cursor.js";
import { probeTlsClient, probeTlsServer } from "./tls/index.js";
import type { ConversationFacts, Detector, Handoff, ProbeResult, StreamSample, TunnelFacts } from "./types.js";

/** One preamble as read: where TLS may start on each side (-1 when that side's part was not read) and the fact. */
export interface Preamble {
  clientEnd: number;
  serverEnd: number;
  tunnel: TunnelFacts;
}

// ---- SOCKS 5 (RFC 1928, RFC 1929) ----

/** SOCKS5 ATYP and address (RFC 1928 §4) at the cursor, or null (the cursor then went short or the type is unknown). */
function socks5Address(c: Cursor): string | null {
  const atyp = c.u8();
  const b = c.buf;
  const p = c.pos;
  if (atyp === 0x01) {
    // IPv4: 4 bytes.
    return c.skip(4) ? `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}` : null;
  }
  if (atyp === 0x03) {
    // DOMAINNAME: one length byte, then the name (no NUL).
    const n = c.u8();
    if (n <= 0 || !c.skip(n) || !printable(b, p + 1, p + 1 + n)) return null;
    return ascii(b, p + 1, p + 1 + n);
  }
  if (atyp === 0x04) {
    // IPv6: 16 bytes, written as eight groups (not compressed: the report prints what was sent).
    if (!c.has(16)) return null;
    const g: string[] = [];
    for (let i = 0; i < 8; i++) g.push(c.u16().toString(16));
    return g.join(":");
  }
  return null;
}

/**
 * The SOCKS5 request (RFC 1928 §4) or reply (§6) at `p`: VER 5, CMD/REP, RSV 0, ATYP, address, port.
 * `request`: CMD must be 1 CONNECT, 2 BIND or 3 UDP ASSOCIATE; a reply's REP is 0x00–0x08.
 */
function socks5Message(b: Uint8Array, p: number, request: boolean): { end: number; code: number; host: string; port: number } | null {
  const c = new Cursor(b, p);
  const ver = c.u8();
  const code = c.u8();
  const rsv = c.u8();
  if (c.short || ver !== 0x05 || rsv !== 0x00) return null;
  if (request ? code < 1 || code > 3 : code > 8) return null;
  const host = socks5Address(c);
  const port = c.u16();
  if (host === null || c.short) return null;
  return { end: c.pos, code, host, port };
}

/** The client's SOCKS5 side: greeting (VER 5, NMETHODS, METHODS), the RFC 1929 sub-negotiation if chosen, the request. */
function socks5Client(b: Uint8Array, method: number): { end: number; host: string; port: number } | null {
  // Greeting (§3): VER 5, NMETHODS 1–255, that many method bytes.
  const c = new Cursor(b);
  if (c.left < 3 || c.u8() !== 0x05) return null;
  const nmethods = c.u8();
  if (nmethods === 0 || !c.skip(nmethods)) return null;
  if (method === 0x02) {
    // RFC 1929 §2: VER 1, ULEN, UNAME, PLEN, PASSWD.
    if (c.u8() !== 0x01) return null;
    const ulen = c.u8();
    if (ulen < 0 || !c.skip(ulen) || !c.skip(c.u8())) return null;
  }
  const r = socks5Message(b, c.pos, true);
  return r === null ? null : { end: r.end, host: r.host, port: r.port };
}

function readSocks5(c: Uint8Array, s: Uint8Array): Preamble | null {
  if (c.length < 3 || c[0] !== 0x05) return null;
  // The server's method selection (§3): VER 5, METHOD (0 none, 2 username/password, 0xFF none acceptable).
  const sc = new Cursor(s);
  const sver = sc.u8();
  const smethod = sc.u8();
  const method = sver === 0x05 && smethod >= 0 ? smethod : -1;
  // Without the server's choice, the client's side is read both ways (no authentication, then RFC 1929).
  const req = method === -1 ? (socks5Client(c, 0) ?? socks5Client(c, 2)) : socks5Client(c, method);
  if (req === null) return null;
  // The greeting must offer the method the server chose.
  if (method >= 0 && method !== 0xff && !offers(c, method)) return null;
  const tunnel: TunnelFacts = { via: "socks5", target: req.host, targetPort: req.port, accepted: null };
  let serverEnd = -1;
  if (method === 0xff) tunnel.accepted = false;
  else if (method >= 0) {
    let p = 2;
    if (method === 0x02) {
      // RFC 1929 §2: VER 1, STATUS (0 success).
      const ver = sc.u8();
      const status = sc.u8();
      if (status >= 0 && ver === 0x01) {
        if (status !== 0x00) tunnel.accepted = false;
        p = 4;
      } else p = -1;
    }
    if (p >= 0 && tunnel.accepted === null) {
      const rep = socks5Message(s, p, false);
      if (rep !== null) {
        tunnel.accepted = rep.code === 0x00; // §6: X'00' succeeded
        serverEnd = rep.end;
      }
    }
  }
  return { clientEnd: req.end, serverEnd, tunnel };
}

function offers(c: Uint8Array, method: number): boolean {
  const k = new Cursor(c, 1);
  const n = k.u8(); // NMETHODS, then the METHODS
  for (let i = 0; i < n; i++) {
    const m = k.u8();
    if (m < 0) break;
    if (m === method) return true;
  }
  return false;
}

// ---- SOCKS 4 and 4a (the SOCKS4 protocol text; SOCKS 4A: a simple extension to SOCKS 4) ----

/** Longest USERID or 4a domain name we look through for its NUL. */
const MAX_SOCKS4_FIELD = 255;

/** The NUL ending a printable field at `p`, or -1. */
function nulAfter(b: Uint8Array, p: number): number {
  const end = Math.min(b.length, p + MAX_SOCKS4_FIELD + 1);
  for (let i = p; i < end; i++) {
    if (b[i] === 0x00) return i;
    if (b[i] < 0x20 || b[i] >= 0x7f) return -1;
  }
  return -1;
}

function readSocks4(c: Uint8Array, s: Uint8Array): Preamble | null {
  // Request: VN 4, CD 1 CONNECT or 2 BIND, DSTPORT (2), DSTIP (4), USERID, NUL.
  const k = new Cursor(c);
  if (k.left < 9 || k.u8() !== 0x04) return null;
  const cd = k.u8();
  if (cd !== 0x01 && cd !== 0x02) return null;
  const port = k.u16();
  const ip = k.u32();
  const uidEnd = nulAfter(c, 8);
  if (uidEnd < 0) return null;
  let end = uidEnd + 1;
  let host = `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
  // 4a: DSTIP 0.0.0.x with x ≠ 0 means "the domain name follows the USERID's NUL, NUL-terminated".
  if (ip >>> 8 === 0 && ip !== 0) {
    const nameEnd = nulAfter(c, end);
    if (nameEnd <= end) return null;
    host = ascii(c, end, nameEnd);
    end = nameEnd + 1;
  }
  // 4a is SOCKS4's own extension: `via` names the version byte on the wire.
  const tunnel: TunnelFacts = { via: "socks4", target: host, targetPort: port, accepted: null };
  // Reply: VN 0, CD 90 granted / 91 rejected / 92, 93 identd failures, DSTPORT, DSTIP (8 bytes).
  let serverEnd = -1;
  const cdReply = socks4Reply(s);
  if (cdReply >= 0) {
    tunnel.accepted = cdReply === 90;
    serverEnd = 8;
  }
  return { clientEnd: end, serverEnd, tunnel };
}

/** A SOCKS4 reply's CD (90–93) when `s` starts with one (VN 0, CD, DSTPORT, DSTIP: 8 bytes), else -1. */
function socks4Reply(s: Uint8Array): number {
  const k = new Cursor(s);
  if (k.left < 8 || k.u8() !== 0x00) return -1;
  const cd = k.u8();
  return cd >= 90 && cd <= 93 ? cd : -1;
}

// ---- PostgreSQL SSLRequest (PostgreSQL protocol, "SSL Session Encryption") ----

/** Int32 length 8, Int32 80877103 (0x04d2162f): the SSLRequest code. */
const SSL_REQUEST_LENGTH = 8;
const SSL_REQUEST_CODE = 80877103;

function readPostgres(c: Uint8Array, s: Uint8Array): Preamble | null {
  const k = new Cursor(c);
  if (k.u32() !== SSL_REQUEST_LENGTH || k.u32() !== SSL_REQUEST_CODE) return null;
  // The server answers one byte: 'S' (go ahead with TLS) or 'N' (no TLS here).
  const a = new Cursor(s).u8();
  const accepted = a === 0x53 ? true : a === 0x4e ? false : null;
  return { clientEnd: 8, serverEnd: accepted === null ? -1 : 1, tunnel: { via: "postgres-sslrequest", target: null, targetPort: null, accepted } };
}

// ---- LDAP StartTLS (RFC 4511 §4.14, BER as restricted by §5.1) ----

/** "1.3.6.1.4.1.1466.20037", the StartTLS requestName (RFC 4511 §4.14.1). */
const STARTTLS_OID = "1.3.6.1.4.1.1466.20037";

/**
 * A BER element with tag `tag` at the cursor (definite length only, RFC 4511 §5.1): points `into`
 * at its contents and moves past it; false (not moved) when it is not one or does not fit.
 */
function ber(c: Cursor, tag: number, into: Cursor): boolean {
  const p = c.pos;
  if (c.left < 2 || c.u8() !== tag) {
    c.reset(c.buf, p, c.end);
    return false;
  }
  let len = c.u8();
  if (len >= 0x80) {
    // Long form: 0x81–0x84 say how many length bytes follow; 0x80 (indefinite) is not allowed.
    const n = len & 0x7f;
    len = n === 0 || n > 4 ? -1 : c.uint(n as 1 | 2 | 3 | 4);
  }
  if (len < 0 || !c.sub(len, into)) {
    c.reset(c.buf, p, c.end);
    return false;
  }
  return true;
}

/**
 * LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp, controls [0] OPTIONAL } (§4.1.1):
 * the whole message's end and where protocolOp's tag is, or null.
 */
function ldapMessage(b: Uint8Array): { end: number; op: number } | null {
  const seq = new Cursor();
  const id = new Cursor();
  if (!ber(new Cursor(b), 0x30, seq)) return null;
  // messageID: INTEGER (0 .. 2^31-1), 1–4 content bytes
  if (!ber(seq, 0x02, id) || id.left < 1 || id.left > 4) return null;
  return seq.left > 0 ? { end: seq.end, op: seq.pos } : null;
}

function readLdap(c: Uint8Array, s: Uint8Array): Preamble | null {
  const m = ldapMessage(c);
  if (m === null) return null;
  // ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID, requestValue [1] OPTIONAL }.
  const op = new Cursor();
  const name = new Cursor();
  if (!ber(new Cursor(c, m.op), 0x77, op) || op.end > m.end) return null;
  if (!ber(op, 0x80, name) || ascii(c, name.pos, name.end) !== STARTTLS_OID) return null;
  const tunnel: TunnelFacts = { via: "ldap-starttls", target: null, targetPort: null, accepted: null };
  let serverEnd = -1;
  const r = ldapMessage(s);
  if (r !== null) {
    // ExtendedResponse ::= [APPLICATION 24] SEQUENCE { COMPONENTS OF LDAPResult, … } (§4.12);
    // LDAPResult starts with resultCode ENUMERATED, 0 = success (§4.1.9).
    const rop = new Cursor();
    const code = new Cursor();
    if (ber(new Cursor(s, r.op), 0x78, rop) && ber(new Cursor(s, rop.pos), 0x0a, code) && code.left === 1) {
      tunnel.accepted = code.u8() === 0;
      serverEnd = r.end;
    }
  }
  return { clientEnd: m.end, serverEnd, tunnel };
}

// ---- the detector ----

const READERS = [readSocks5, readSocks4, readPostgres, readLdap] as const;

/** The binary preamble this conversation opens with, or null. */
export function readPreamble(client: Uint8Array, server: Uint8Array): Preamble | null {
  for (const r of READERS) {
    const p = r(client, server);
    if (p !== null) return p;
  }
  return null;
}

/** Does TLS follow the preamble: a ClientHello right after the client's part, or a TLS server flight right after the server's? */
export function tlsFollows(client: Uint8Array, server: Uint8Array, clientEnd: number, serverEnd: number): boolean {
  return (clientEnd >= 0 && probeTlsClient(client, clientEnd) === "match") || (serverEnd >= 0 && probeTlsServer(server, serverEnd) === "match");
}

function probe(s: StreamSample): ProbeResult {
  const p = readPreamble(s.client, s.server);
  if (p !== null) return tlsFollows(s.client, s.server, p.clientEnd, p.serverEnd) ? "match" : "no";
  // The server's side alone (registry.ts, serverDisagrees): a preamble reply and then a TLS flight.
  if (s.client.length === 0 && s.server.length > 0) return serverAlone(s.server) ? "match" : "no";
  return "no";
}

/**
 * The server's answers alone, each followed by a TLS server flight: SOCKS5 method selection and
 * reply, a SOCKS4 reply, PostgreSQL 'S', an LDAP ExtendedResponse. Weak shapes on their own; the
 * TLS flight right after makes them strong.
 */
function serverAlone(s: Uint8Array): boolean {
  return serverAloneEnd(s) >= 0;
}

/** Where the TLS server flight starts after one of those answers, or -1. */
function serverAloneEnd(s: Uint8Array): number {
  const tlsAt = (at: number): boolean => at >= 0 && probeTlsServer(s, at) === "match";
  const k = new Cursor(s);
  const first = k.u8();
  const method = k.u8();
  if (first === 0x05 && method >= 0) {
    // SOCKS5 method selection (VER, METHOD), the RFC 1929 status when METHOD is 2, then the reply.
    const rep = socks5Message(s, method === 0x02 ? 4 : 2, false);
    if (rep !== null && tlsAt(rep.end)) return rep.end;
  }
  if (socks4Reply(s) >= 0 && tlsAt(8)) return 8;
  if (first === 0x53 && tlsAt(1)) return 1; // PostgreSQL 'S'
  const r = ldapMessage(s);
  return r !== null && ber(new Cursor(s, r.op), 0x78, new Cursor()) && tlsAt(r.end) ? r.end : -1;
}

function analyze(s: StreamSample, out: ConversationFacts): Handoff | null {
  const p = readPreamble(s.client, s.server);
  if (p === null) {
    // Only the server's side (serverDisagrees): its answer, then TLS from where it ends.
    const end = serverAloneEnd(s.server);
    return end < 0 ? null : { child: "tls", client: s.client, server: s.server, clientStart: 0, serverStart: end };
  }
  out.tunnel = p.tunnel;
  return { child: "tls", client: s.client, server: s.server, clientStart: p.clientEnd >= 0 ? p.clientEnd : s.client.length, serverStart: p.serverEnd >= 0 ? p.serverEnd : s.server.length };
}

export const tunnelDetector: Detector = {
  protocol: "tls",
  transports: ["tcp"],
  // SOCKS, PostgreSQL, LDAP.
  ports: [1080, 5432, 389],
  byContent: true,
  probe,
  analyze,
};

// ---- helpers ----

function printable(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] < 0x21 || b[i] >= 0x7f) return false;
  return true;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  let out = "";
  for (let i = from; i < to && i < b.length; i++) out += String.fromCharCode(b[i]);
  return out;
}

/**
 * The authority of an HTTP CONNECT (RFC 9110 §9.3.6, RFC 9112 §3.2.3 authority-form): host and
 * port, an IPv6 literal without its brackets. Null parts when it does not parse.
 */
export function authority(uri: string): { host: string | null; port: number | null } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(uri);
  if (m === null) return { host: uri.length > 0 ? uri : null, port: null };
  const port = Number(m[3]);
  return { host: m[1] ?? m[2], port: port <= 65535 ? port : null };
}
