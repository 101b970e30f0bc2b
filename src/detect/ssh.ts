/**
 * SSH: both sides open with an identification line (RFC 4253 §4.2)
 *
 *   SSH-protoversion-softwareversion SP comments CR LF
 *
 * at most 255 characters including CR LF; protoversion "2.0", or "1.99" for a server that also
 * speaks SSH 1, or "1.x" for SSH 1 (RFC 4253 §5.1). The server MAY send other lines before its
 * identification; the client may not. Detection is Zeek's signature `payload /^[sS][sS][hH]-[12]\./`
 * on either side, plus the server-preamble case the RFC allows.
 */
import { MAX_BANNER, asciiString, prefixState, readLine } from "./text.js";
import type { Anomaly, ConversationFacts, Detector, Direction, ProbeResult, StreamSample } from "./types.js";

/** RFC 4253 §4.2: the identification line, CR LF included, is at most 255 characters. */
export const SSH_MAX_IDENT = 255;
/** How many lines (and bytes) of server preamble we look through for the identification. */
const MAX_PREAMBLE_LINES = 16;
const MAX_PREAMBLE_BYTES = 4096;

/**
 * Zeek's `^[sS][sS][hH]-[12]\.` at `at`: "match", "prefix" (bytes ran out while agreeing), "no".
 */
function sigAt(b: Uint8Array, at: number): "match" | "prefix" | "no" {
  const st = prefixState(b, at, "ssh-", true);
  if (st !== "match") return st;
  if (at + 4 >= b.length) return "prefix";
  const v = b[at + 4];
  if (v !== 0x31 && v !== 0x32) return "no"; // '1' or '2'
  if (at + 5 >= b.length) return "prefix";
  return b[at + 5] === 0x2e ? "match" : "no"; // '.'
}

/**
 * Where the identification starts in a server stream that may carry preamble lines, or -1 / -2
 * (-2: not found yet but the bytes so far are consistent, so more could bring it).
 */
function findServerIdent(b: Uint8Array): number {
  let at = 0;
  for (let n = 0; n <= MAX_PREAMBLE_LINES && at < MAX_PREAMBLE_BYTES; n++) {
    const st = sigAt(b, at);
    if (st === "match") return at;
    if (st === "prefix") return -2;
    // A preamble line must be text; binary bytes mean this is not SSH at all.
    const line = readLine(b, at, MAX_PREAMBLE_BYTES - at);
    for (let i = at; i < line.end; i++) {
      const c = b[i];
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return -1;
    }
    // An unfinished text line: more bytes could end it and bring the identification.
    if (line.ending === "none") return line.next >= b.length && b.length < MAX_PREAMBLE_BYTES ? -2 : -1;
    at = line.next;
  }
  return -1;
}

function probeSide(b: Uint8Array, done: boolean, server: boolean): ProbeResult {
  const st = sigAt(b, 0);
  if (st === "match") return "match";
  if (st === "prefix") return done ? "no" : "more";
  if (!server) return "no";
  const at = findServerIdent(b);
  if (at >= 0) return "match";
  return at === -2 && !done ? "more" : "no";
}

function probe(s: StreamSample): ProbeResult {
  const c = probeSide(s.client, s.clientDone, false);
  const v = probeSide(s.server, s.serverDone, true);
  if (c === "match" || v === "match") return "match";
  if (c === "more" || v === "more") return "more";
  return "no";
}

/** One side's parsed identification. */
interface Ident {
  line: string;
  proto: string | null;
  software: string | null;
}

function push(out: ConversationFacts, name: string, message: string, direction: Direction, offset: number): void {
  const a: Anomaly = { name, message, direction, offset };
  out.anomalies.push(a);
}

/** Parses one side's identification line; pushes anomalies for what RFC 4253 §4.2 forbids. */
function parseSide(b: Uint8Array, done: boolean, dir: Direction, out: ConversationFacts): Ident | null {
  if (b.length === 0) return null;
  let at = 0;
  if (sigAt(b, 0) !== "match") {
    // The server may send preamble lines (RFC 4253 §4.2); the client MUST NOT, but some do.
    at = dir === "server" ? findServerIdent(b) : findClientIdent(b);
    if (at < 0) {
      push(out, "ssh_malformed_identification", `${dir} sent no "SSH-" identification line in its first ${Math.min(b.length, MAX_PREAMBLE_BYTES)} bytes`, dir, 0);
      return null;
    }
    if (dir === "client") {
      push(out, "ssh_client_preamble", `client sent ${at} bytes before its identification; only the server may (RFC 4253 §4.2)`, dir, 0);
    }
  }

  // Look a little past 255 so a too-long line is still parsed and reported as such.
  const line = readLine(b, at, 4 * SSH_MAX_IDENT);
  const withEol = line.next - at;
  if (line.ending === "none") {
    if (done || b.length - at >= 4 * SSH_MAX_IDENT) {
      push(out, "ssh_identification_unterminated", `${dir} identification has no LF within ${b.length - at} bytes`, dir, at);
    }
  } else if (line.ending === "lf") {
    push(out, "ssh_identification_missing_cr", `${dir} identification ends with a bare LF at byte ${line.end}, not CR LF`, dir, line.end);
  }
  if (withEol > SSH_MAX_IDENT) {
    push(out, "ssh_identification_too_long", `${dir} identification is ${withEol} bytes with its line end; RFC 4253 allows ${SSH_MAX_IDENT}`, dir, at);
  }

  // Split "SSH-proto-software[ SP comments]" on the raw bytes (escaping does not change ASCII).
  const end = line.end;
  let nul = false;
  for (let i = at; i < end; i++) if (b[i] === 0) nul = true;
  if (nul) push(out, "ssh_malformed_identification", `${dir} identification contains a NUL byte`, dir, at);
  if (!(b[at] === 0x53 && b[at + 1] === 0x53 && b[at + 2] === 0x48)) {
    push(out, "ssh_malformed_identification", `${dir} identification starts with "${asciiString(b, at, at + 4)}", not upper-case "SSH-"`, dir, at);
  }
  let dash = -1;
  for (let i = at + 4; i < end; i++) {
    if (b[i] === 0x2d) {
      dash = i;
      break;
    }
  }
  const text = line.text.length > MAX_BANNER ? line.text.slice(0, MAX_BANNER) + "…" : line.text;
  if (dash < 0) {
    push(out, "ssh_malformed_identification", `${dir} identification "${asciiString(b, at, end, 64)}" has no "-" after the protocol version`, dir, at);
    return { line: text, proto: asciiString(b, at + 4, end, 16) || null, software: null };
  }
  const proto = asciiString(b, at + 4, dash, 16);
  if (!/^\d+\.\d+$/.test(proto)) {
    push(out, "ssh_malformed_identification", `${dir} protocol version "${proto}" is not of the form N.N`, dir, at + 4);
  }
  let sp = end;
  for (let i = dash + 1; i < end; i++) {
    if (b[i] === 0x20) {
      sp = i;
      break;
    }
  }
  const software = asciiString(b, dash + 1, sp, 128);
  if (software.length === 0) {
    push(out, "ssh_malformed_identification", `${dir} identification has an empty software version`, dir, dash + 1);
  }
  return { line: text, proto, software: software.length > 0 ? software : null };
}

/** The client may not send a preamble, but find its identification anyway to report it. */
function findClientIdent(b: Uint8Array): number {
  return findServerIdent(b);
}

/** Which SSH major versions a protoversion string says a side speaks. */
function speaks(proto: string | null): { v1: boolean; v2: boolean } {
  if (proto === null) return { v1: false, v2: false };
  if (proto === "1.99") return { v1: true, v2: true }; // RFC 4253 §5.1: server compatible with both
  if (proto.startsWith("2.")) return { v1: false, v2: true };
  if (proto.startsWith("1.")) return { v1: true, v2: false };
  return { v1: false, v2: false };
}

function analyze(s: StreamSample, out: ConversationFacts): void {
  const c = parseSide(s.client, s.clientDone, "client", out);
  const v = parseSide(s.server, s.serverDone, "server", out);
  out.ssh = {
    clientBanner: c?.line ?? null,
    serverBanner: v?.line ?? null,
    clientSoftware: c?.software ?? null,
    serverSoftware: v?.software ?? null,
  };
  out.banner = out.ssh.serverBanner ?? out.ssh.clientBanner;

  if (c !== null && v !== null) {
    const a = speaks(c.proto);
    const b = speaks(v.proto);
    const common2 = a.v2 && b.v2;
    const common1 = a.v1 && b.v1;
    if ((a.v1 || a.v2) && (b.v1 || b.v2) && !common1 && !common2) {
      push(out, "ssh_version_mismatch", `client speaks SSH ${c.proto}, server SSH ${v.proto}: no common protocol version`, "server", 0);
    } else if (common1 && !common2) {
      push(out, "ssh_version_1", `SSH protocol 1 negotiated (client ${c.proto}, server ${v.proto}); it is obsolete and insecure`, "server", 0);
    }
  } else {
    const only = c ?? v;
    if (only !== null && speaks(only.proto).v1 && !speaks(only.proto).v2) {
      const dir: Direction = c !== null ? "client" : "server";
      push(out, "ssh_version_1", `${dir} offers only SSH protocol ${only.proto}, which is obsolete and insecure`, dir, 0);
    }
  }
}

export const sshDetector: Detector = {
  protocol: "ssh",
  transports: ["tcp"],
  ports: [22],
  byContent: true,
  probe,
  analyze,
};
