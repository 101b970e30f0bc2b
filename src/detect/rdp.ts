/**
 * RDP connection initiation (MS-RDPBCGR §2.2.1.1 and §2.2.1.2): the client sends a TPKT-framed
 * X.224 Connection Request, the server answers with a Connection Confirm, and when the server
 * selected an external security protocol (TLS, CredSSP, …) a TLS handshake follows at once on the
 * same connection.
 *
 *   TPKT (RFC 1006 §6, T.123 §8):   version 3 | reserved 0 | length (u16 BE, whole packet)
 *   X.224 CR / CC (X.224 §13.3/13.4): LI (header length after this byte) | code 0xE0 CR / 0xD0 CC
 *                                     (high nibble; low nibble CDT 0) | DST-REF u16 | SRC-REF u16
 *                                     | class-and-options (class 0 → 0)
 *   CR variable part:  routingToken (text … CR LF) or cookie "Cookie: mstshash=NAME\r\n",
 *                      then RDP_NEG_REQ (type 0x01 | flags | length u16 LE = 8 | requestedProtocols
 *                      u32 LE), then rdpCorrelationInfo when flags has CORRELATION_INFO_PRESENT.
 *   CC variable part:  RDP_NEG_RSP (type 0x02 | flags | length 8 | selectedProtocol u32 LE) or
 *                      RDP_NEG_FAILURE (type 0x03 | flags | length 8 | failureCode u32 LE).
 */
import { Cursor } from "../bytes/cursor.js";
import { MAX_BANNER, TEXT_THRESHOLD, asciiString, indexOfAscii, startsWithAscii, textRatio } from "./text.js";
import { analyzeRdpUdp, probeRdpUdp } from "./rdp-udp.js";
import type { ConversationFacts, Detector, Direction, Handoff, ProbeResult, StreamSample } from "./types.js";

/** TPKT header (4) + fixed X.224 CR/CC header (7): MS-RDPBCGR §3.3.5.3.1 drops anything shorter. */
export const X224_MIN = 11;
const TPKT_VERSION = 3;
const X224_CR = 0xe0;
const X224_CC = 0xd0;
const X224_DR = 0x80;

const TYPE_RDP_NEG_REQ = 0x01;
const TYPE_RDP_NEG_RSP = 0x02;
const TYPE_RDP_NEG_FAILURE = 0x03;
const TYPE_RDP_CORRELATION_INFO = 0x06;
const CORRELATION_INFO_PRESENT = 0x08;

/** requestedProtocols / selectedProtocol bits (MS-RDPBCGR §2.2.1.1.1, §2.2.1.2.1). */
export const RDP_PROTOCOLS: readonly [number, string][] = [
  [0x01, "ssl"], // PROTOCOL_SSL: TLS 1.0–1.2
  [0x02, "hybrid"], // PROTOCOL_HYBRID: CredSSP (inside TLS)
  [0x04, "rdstls"], // PROTOCOL_RDSTLS (inside TLS)
  [0x08, "hybrid_ex"], // PROTOCOL_HYBRID_EX: CredSSP + Early User Authorization Result
  [0x10, "rdsaad"], // PROTOCOL_RDSAAD: Azure AD auth (inside TLS)
];

/** RDP_NEG_FAILURE failureCode names (MS-RDPBCGR §2.2.1.2.2), lower-cased. */
export const RDP_FAILURES: Readonly<Record<number, string>> = {
  1: "ssl_required_by_server",
  2: "ssl_not_allowed_by_server",
  3: "ssl_cert_not_on_server",
  4: "inconsistent_flags",
  5: "hybrid_required_by_server",
  6: "ssl_with_user_auth_required_by_server",
};

function hex32(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/** Names of the bits set in requestedProtocols; ["rdp"] for 0 (Standard RDP Security only). */
export function requestedProtocolNames(flags: number): string[] {
  if (flags === 0) return ["rdp"];
  const names: string[] = [];
  let rest = flags >>> 0;
  for (const [bit, name] of RDP_PROTOCOLS) {
    if (rest & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(hex32(rest >>> 0));
  return names;
}

/** Name of one selectedProtocol value ("rdp" for 0, hex for a value that is not one known bit). */
export function selectedProtocolName(v: number): string {
  if (v === 0) return "rdp";
  for (const [bit, name] of RDP_PROTOCOLS) if (v === bit) return name;
  return hex32(v >>> 0);
}

/**
 * Does `b` start with a TPKT + X.224 header whose code is `code`? "prefix" when the bytes run out
 * before the 6 bytes that decide it.
 */
function tpktX224(b: Uint8Array, code: number): "match" | "prefix" | "no" {
  // TPKT (RFC 1006 §6): version(1)=3 reserved(1)=0 length(2); X.224 (ISO 8073 §13): LI(1) code(1).
  const c = new Cursor(b);
  const version = c.u8();
  if (version >= 0 && version !== TPKT_VERSION) return "no";
  const reserved = c.u8();
  if (reserved >= 0 && reserved !== 0) return "no";
  const len = c.u16();
  if (len < 0) return "prefix";
  if (len < X224_MIN) return "no";
  const li = c.u8();
  if (li < 0) return "prefix";
  // LI counts the X.224 header after itself, variable part included: TPKT length − 4 − 1.
  if (li !== len - 5) return "no";
  const tpdu = c.u8();
  if (tpdu < 0) return "prefix";
  return tpdu === code ? "match" : "no";
}

/**
 * Length of the RDP PDU at `at` (MS-RDPBCGR): a fast-path PDU (§2.2.9.1.2 output /
 * §2.2.8.1.2 input: header byte with action 0 in its two low bits — the high bits are flags, the
 * middle four the event count on input — then length1, and length2 when length1's top bit is set:
 * a 15-bit length of the whole PDU), or a slow-path TPKT packet (03 00, u16 length, RFC 1006 §6).
 * -1 when the bytes there are neither; 0 when they are cut before the length. `output`: the
 * server's side, whose fast-path header's four middle bits are reserved and 0 (§2.2.9.1.2).
 */
function pduLength(c: Cursor, output: boolean): number {
  if (c.left < 2) return 0;
  const h = c.u8();
  if (h === TPKT_VERSION) {
    if (c.u8() !== 0) return -1;
    const len = c.u16();
    if (len < 0) return 0;
    return len >= 7 ? len : -1;
  }
  if ((h & 0x03) !== 0 || (output && (h & 0x3c) !== 0)) return -1;
  const l1 = c.u8();
  if ((l1 & 0x80) === 0) return l1 >= 3 ? l1 : -1;
  const l2 = c.u8();
  if (l2 < 0) return 0;
  const len = ((l1 & 0x7f) << 8) | l2;
  return len >= 4 ? len : -1;
}

/**
 * A side seen from the middle of an RDP session (its SYN not captured, so no X.224 exchange):
 * its bytes are RDP PDUs back to back — fast-path output such as `80 LL …` whose length is the
 * PDU's, or TPKT packets — to the end of what was kept (the last one may be cut there), at least
 * two whole ones, or one that is
 * exactly all of a finished side (issue 18: "0x80 + a length equal to the segment"). Only
 * for a side whose start is missing: a side whose start was captured shows its X.224 exchange.
 */
function midstreamPdus(b: Uint8Array, done: boolean, output: boolean): boolean {
  // Text is text (issue 18: plain text needs printable bytes, and RDP needs binary PDUs): an HTTP
  // response's letters can chain as fast-path lengths by chance.
  if (textRatio(b, 0) >= TEXT_THRESHOLD) return false;
  const c = new Cursor(b);
  const pdu = new Cursor();
  let n = 0;
  while (c.left > 0 && n < 64) {
    const len = pduLength(pdu.reset(b, c.pos), output);
    if (len < 0) return false;
    if (len === 0 || !c.skip(len)) return n >= 2; // cut by the end of the kept bytes, after two whole ones
    n++;
  }
  const at = c.pos;
  // A lone PDU must be fast-path output (its four middle header bits are reserved, 0) or TPKT.
  return n >= 2 || (n === 1 && at === b.length && done && (b[0] === TPKT_VERSION || (b[0] & 0x3c) === 0));
}

function probe(s: StreamSample): ProbeResult {
  if (s.client.length + s.server.length > 0 && (s.clientStartMissing || s.serverStartMissing)) {
    const c = s.client.length === 0 || (s.clientStartMissing && midstreamPdus(s.client, s.clientDone, false));
    const v = s.server.length === 0 || (s.serverStartMissing && midstreamPdus(s.server, s.serverDone, true));
    if (c && v) return "match";
  }
  const c = tpktX224(s.client, X224_CR);
  if (c === "match") {
    // ISO-TSAP users of TPKT (S7comm on 102) send parameters (codes 0xC0–0xC2) in the CR's
    // variable part; MS-RDPBCGR §3.2.5.3.1 forbids them, so they tell the two apart.
    if (s.client.length > X224_MIN && (s.client[X224_MIN] & 0xf0) === 0xc0) return "no";
    return "match";
  }
  // A capture that missed the client's CR can still show the server's CC.
  const v = tpktX224(s.server, X224_CC);
  if (v === "match" && s.client.length === 0) return "match";
  if (c === "prefix" && !s.clientDone) return "more";
  if (s.client.length === 0 && v === "prefix" && !s.serverDone) return "more";
  return "no";
}

function push(out: ConversationFacts, name: string, message: string, direction: Direction, offset: number): void {
  out.anomalies.push({ name, message, direction, offset });
}

/**
 * Checks the TPKT + X.224 fixed header at 0 and returns the end of the PDU within `b` (clamped
 * to the data), or -1 when the bytes are not a TPKT-framed X.224 PDU at all.
 */
function pduHeader(b: Uint8Array, dir: Direction, want: number, out: ConversationFacts): number {
  const c = new Cursor(b);
  if (c.left < 4) {
    push(out, "rdp_tpkt_truncated", `${dir} sent ${b.length} bytes, fewer than the 4-byte TPKT header`, dir, 0);
    return -1;
  }
  // TPKT (RFC 1006 §6): version(1) reserved(1) length(2, the whole packet).
  const version = c.u8();
  if (version !== TPKT_VERSION) {
    push(out, "rdp_tpkt_bad_version", `${dir} TPKT version is ${version}, not 3 (RFC 1006 §6)`, dir, 0);
    return -1;
  }
  const reserved = c.u8();
  if (reserved !== 0) push(out, "rdp_tpkt_reserved_nonzero", `${dir} TPKT reserved byte is ${reserved}, not 0`, dir, 1);
  const len = c.u16();
  if (len < X224_MIN) {
    push(out, "rdp_x224_too_short", `${dir} TPKT length ${len} is below the ${X224_MIN} bytes of TPKT + X.224 header`, dir, 2);
    return -1;
  }
  if (len > b.length) {
    push(out, "rdp_tpkt_length_exceeds_data", `${dir} TPKT length ${len} exceeds the ${b.length} bytes captured`, dir, 2);
  }
  const end = Math.min(len, b.length);
  if (end < 6) return end;
  // X.224 CR / CC TPDU (ISO 8073 §13.3, §13.4): LI(1) code(1) DST-REF(2) SRC-REF(2) class-and-options(1).
  const li = c.u8();
  if (li !== len - 5) {
    push(out, "rdp_x224_length_indicator_mismatch", `${dir} X.224 length indicator ${li} does not match TPKT length ${len} − 5 = ${len - 5}`, dir, 4);
  }
  const code = c.u8();
  if (code !== want) {
    const what = code === X224_DR ? "a Disconnect Request (0x80)" : code === X224_CC ? "a Connection Confirm (0xd0)" : code === X224_CR ? "a Connection Request (0xe0)" : `TPDU code 0x${code.toString(16).padStart(2, "0")}`;
    const name = want === X224_CR ? "rdp_x224_not_connection_request" : "rdp_x224_not_connection_confirm";
    push(out, name, `${dir} sent ${what} where a Connection ${want === X224_CR ? "Request" : "Confirm"} was expected`, dir, 5);
    return -1;
  }
  c.skip(4); // DST-REF, SRC-REF
  const cls = end >= X224_MIN ? c.u8() : 0;
  if (cls !== 0) {
    push(out, "rdp_x224_not_class_0", `${dir} X.224 class-and-options byte is 0x${cls.toString(16).padStart(2, "0")}, not class 0`, dir, 10);
  }
  return end;
}

function analyzeRequest(b: Uint8Array, out: ConversationFacts, rdp: NonNullable<ConversationFacts["rdp"]>): number {
  const end = pduHeader(b, "client", X224_CR, out);
  if (end < 0) return 0;
  let at = X224_MIN;
  if (at >= end) return end;

  // routingToken or cookie: text ended by CR LF (MS-RDPBCGR §2.2.1.1). The NEG_REQ starts with
  // 0x01 and the correlation info with 0x06, neither of which begins a token.
  if (b[at] !== TYPE_RDP_NEG_REQ && b[at] !== TYPE_RDP_CORRELATION_INFO) {
    const crlf = indexOfAscii(b, "\r\n", at, end);
    const lineEnd = crlf < 0 ? end : crlf;
    if (crlf < 0) {
      push(out, "rdp_cookie_unterminated", `client token/cookie at byte ${at} has no CR LF before the end of the PDU at ${end}`, "client", at);
    }
    if (startsWithAscii(b, at, "Cookie: mstshash=")) {
      rdp.cookie = asciiString(b, at + 17, lineEnd, MAX_BANNER);
    } else if (startsWithAscii(b, at, "Cookie: ")) {
      rdp.cookie = asciiString(b, at + 8, lineEnd, MAX_BANNER); // e.g. "msts=3640205228.15629.0000"
    } else {
      rdp.cookie = asciiString(b, at, lineEnd, MAX_BANNER);
    }
    at = crlf < 0 ? end : crlf + 2;
    // §2.2.1.1: the cookie MUST NOT be present when a routing token is.
    if (!startsWithAscii(b, X224_MIN, "Cookie: mstshash=") && startsWithAscii(b, at, "Cookie: mstshash=")) {
      push(out, "rdp_token_and_cookie", "client sent both a routing token and a mstshash cookie (MS-RDPBCGR §2.2.1.1 forbids it)", "client", at);
      const c2 = indexOfAscii(b, "\r\n", at, end);
      at = c2 < 0 ? end : c2 + 2;
    }
  }
  if (at >= end) return end;

  // RDP_NEG_REQ (MS-RDPBCGR §2.2.1.1.1, little-endian): type(1)=1 flags(1) length(2)=8 requestedProtocols(4).
  const c = new Cursor(b, at, end);
  const type = c.u8();
  if (type !== TYPE_RDP_NEG_REQ) {
    push(out, "rdp_x224_unexpected_data", `client CR has ${end - at} bytes at ${at} that are not an RDP_NEG_REQ (type 0x${type.toString(16).padStart(2, "0")})`, "client", at);
    return end;
  }
  if (c.left < 7) {
    push(out, "rdp_neg_req_truncated", `client RDP_NEG_REQ at byte ${at} has ${end - at} of its 8 bytes`, "client", at);
    return end;
  }
  const flags = c.u8();
  const len = c.u16le();
  if (len !== 8) push(out, "rdp_neg_req_bad_length", `client RDP_NEG_REQ length is ${len}, not 8`, "client", at + 2);
  rdp.requestedProtocols = requestedProtocolNames(c.u32le());
  if (flags & CORRELATION_INFO_PRESENT) {
    // rdpCorrelationInfo (§2.2.1.1.2): type(1)=0x06 flags(1) length(2)=36 correlationId(16) reserved(16).
    if (c.left < 36 || c.peek() !== TYPE_RDP_CORRELATION_INFO) {
      push(out, "rdp_correlation_info_missing", `client RDP_NEG_REQ flags say CORRELATION_INFO_PRESENT but no 36-byte correlation info follows at byte ${c.pos}`, "client", c.pos);
    } else c.skip(36);
  }
  if (c.left > 0) {
    push(out, "rdp_x224_unexpected_data", `client CR has ${c.left} unexplained bytes after the negotiation request at byte ${c.pos}`, "client", c.pos);
  }
  return end;
}

function analyzeConfirm(b: Uint8Array, out: ConversationFacts, rdp: NonNullable<ConversationFacts["rdp"]>): number {
  if (b.length === 0) return 0;
  const end = pduHeader(b, "server", X224_CC, out);
  if (end < 0) return 0;
  const at = X224_MIN;
  if (at >= end) return end;
  if (end - at < 8) {
    push(out, "rdp_neg_rsp_truncated", `server negotiation data at byte ${at} has ${end - at} of its 8 bytes`, "server", at);
    return end;
  }
  // RDP_NEG_RSP / RDP_NEG_FAILURE (MS-RDPBCGR §2.2.1.2.1, §2.2.1.2.2): type(1) flags(1) length(2) selectedProtocol / failureCode(4).
  const c = new Cursor(b, at, end);
  const type = c.u8();
  c.skip(1); // flags
  const len = c.u16le();
  const value = c.u32le();
  if (len !== 8) push(out, "rdp_neg_rsp_bad_length", `server negotiation data length is ${len}, not 8`, "server", at + 2);
  if (type === TYPE_RDP_NEG_RSP) {
    rdp.selectedProtocol = selectedProtocolName(value);
  } else if (type === TYPE_RDP_NEG_FAILURE) {
    rdp.failure = RDP_FAILURES[value] ?? hex32(value);
    push(out, "rdp_negotiation_failure", `server refused the requested security protocols: ${rdp.failure} (${value})`, "server", at);
  } else {
    push(out, "rdp_x224_unexpected_data", `server CC negotiation data has type 0x${type.toString(16).padStart(2, "0")}, neither RDP_NEG_RSP (2) nor RDP_NEG_FAILURE (3)`, "server", at);
  }
  if (end - at > 8) {
    push(out, "rdp_x224_unexpected_data", `server CC has ${end - at - 8} bytes after its negotiation data`, "server", at + 8);
  }
  return end;
}

function analyze(s: StreamSample, out: ConversationFacts): Handoff | null {
  const rdp: NonNullable<ConversationFacts["rdp"]> = { cookie: null, requestedProtocols: [], selectedProtocol: null, failure: null };
  out.rdp = rdp;
  // Picked up midstream: no X.224 exchange to read, only the PDUs the probe recognised.
  if (tpktX224(s.client, X224_CR) !== "match" && tpktX224(s.server, X224_CC) !== "match" && (s.clientStartMissing || s.serverStartMissing)) return null;
  const clientEnd = s.client.length > 0 ? analyzeRequest(s.client, out, rdp) : 0;
  const serverEnd = analyzeConfirm(s.server, out, rdp);

  const sel = rdp.selectedProtocol;
  if (sel !== null && sel !== "rdp" && rdp.requestedProtocols.length > 0 && !rdp.requestedProtocols.includes(sel)) {
    push(out, "rdp_selected_protocol_not_requested", `server selected ${sel} but the client requested ${rdp.requestedProtocols.join(", ")}`, "server", X224_MIN);
  }
  // Every protocol but Standard RDP Security runs inside TLS, started right after the CC.
  if (sel === null || sel === "rdp" || serverEnd <= 0) return null;
  return {
    child: "tls",
    client: s.client,
    server: s.server,
    clientStart: clientEnd,
    serverStart: serverEnd,
    then(found, facts) {
      if (!found && (s.client.length > clientEnd || s.server.length > serverEnd)) {
        push(facts, "rdp_tls_not_found", `server selected ${sel} but no TLS hello followed (client bytes from ${clientEnd}, server bytes from ${serverEnd})`, "server", serverEnd);
      }
    },
  };
}

/** TCP: the X.224 negotiation (this file); UDP: MS-RDPEUDP (rdp-udp.ts). */
export const rdpDetector: Detector = {
  protocol: "rdp",
  transports: ["tcp", "udp"],
  ports: [3389],
  byContent: true,
  probe: (s) => (s.transport === "udp" ? probeRdpUdp(s) : probe(s)),
  analyze: (s, out) => (s.transport === "udp" ? analyzeRdpUdp(s, out) : analyze(s, out)),
};
