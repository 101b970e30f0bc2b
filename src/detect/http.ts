/**
 * HTTP/1.x (RFC 9112): the client's request line and header block, the server's status line and
 * header block.
 *
 *   request-line = method SP request-target SP HTTP-version CRLF        (§3)
 *   status-line  = HTTP-version SP status-code SP [ reason-phrase ] CRLF (§4)
 *   field-line   = field-name ":" OWS field-value OWS CRLF               (§5), ended by an empty line
 *
 * The probe wants a whole request line up to "HTTP/d.d" (a bare "GET " also starts Redis and
 * memcached commands), or a status line from the server. Header scans are bounded (MAX_HEADERS
 * lines, MAX_LINE bytes a line). A CONNECT fills `tunnel`; after a 2xx answer the tunnel usually
 * carries TLS, which is analysed from the end of both header blocks and is then the protocol.
 */
import { MAX_BANNER, asciiString, readLine } from "./text.js";
import { authority, tlsFollows } from "./tunnel.js";
import type { ConversationFacts, Detector, Direction, Handoff, ProbeResult, StreamSample } from "./types.js";

/** Longest request or header line we look through (common server limits are 8 KiB). */
export const MAX_LINE = 8192;
/** Most header lines read from one message (servers usually allow about 100). */
export const MAX_HEADERS = 100;
/** Most 1xx interim responses skipped on the way to the final status. */
const MAX_INTERIM = 4;
const MAX_METHOD = 24;

/** RFC 9110 §5.6.2 tchar. */
function isTchar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) >= 0;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** "HTTP/" DIGIT "." DIGIT at `at`: "match", "prefix" (ran out while agreeing) or "no". */
function versionAt(b: Uint8Array, at: number): "match" | "prefix" | "no" {
  const want = "HTTP/";
  for (let i = 0; i < 8; i++) {
    if (at + i >= b.length) return "prefix";
    const c = b[at + i];
    const ok = i < 5 ? c === want.charCodeAt(i) : i === 6 ? c === 0x2e : isDigit(c);
    if (!ok) return "no";
  }
  return "match";
}

/**
 * Recognises a request line at 0. Returns the positions of its parts when it is one, "prefix"
 * when the bytes so far could still become one, or "no".
 */
function requestLineAt(b: Uint8Array): { methodEnd: number; targetEnd: number } | "prefix" | "no" {
  let i = 0;
  while (i < b.length && i <= MAX_METHOD && isTchar(b[i])) i++;
  if (i >= b.length) return i <= MAX_METHOD ? "prefix" : "no";
  if (i === 0 || i > MAX_METHOD || b[i] !== 0x20) return "no";
  const methodEnd = i;
  i++;
  const limit = Math.min(b.length, MAX_LINE);
  const targetStart = i;
  // request-target: visible characters, no spaces or controls.
  while (i < limit && b[i] > 0x20 && b[i] !== 0x7f) i++;
  if (i >= b.length) return b.length < MAX_LINE ? "prefix" : "no";
  if (i === targetStart || b[i] !== 0x20) return "no";
  const targetEnd = i;
  const v = versionAt(b, i + 1);
  if (v === "match") return { methodEnd, targetEnd };
  return v;
}

/** Recognises a status line at `at` ("HTTP/d.d SP ddd"). */
function statusLineAt(b: Uint8Array, at: number): "match" | "prefix" | "no" {
  const v = versionAt(b, at);
  if (v !== "match") return v;
  for (let i = 8; i < 12; i++) {
    if (at + i >= b.length) return "prefix";
    const c = b[at + i];
    if (i === 8 ? c !== 0x20 : !isDigit(c)) return "no";
  }
  return "match";
}

function probe(s: StreamSample): ProbeResult {
  const r = requestLineAt(s.client);
  if (typeof r === "object") return "match";
  const v = statusLineAt(s.server, 0);
  if (v === "match") return "match";
  if ((r === "prefix" && !s.clientDone) || (v === "prefix" && s.server.length > 0 && !s.serverDone)) return "more";
  return "no";
}

function push(out: ConversationFacts, name: string, message: string, direction: Direction, offset: number): void {
  out.anomalies.push({ name, message, direction, offset });
}

/**
 * Reads the header block that starts at `at`; returns where the body starts (after the empty
 * line, or where reading stopped), and the values of the fields asked for (first occurrence, and
 * how many times each appeared).
 */
function readHeaders(
  b: Uint8Array,
  at: number,
  done: boolean,
  dir: Direction,
  want: readonly string[],
  out: ConversationFacts,
  bareLfReported: boolean,
): { end: number; complete: boolean; values: Map<string, string>; counts: Map<string, number> } {
  const values = new Map<string, string>();
  const counts = new Map<string, number>();
  let pos = at;
  let bareLf = bareLfReported; // named once per message
  for (let n = 0; n <= MAX_HEADERS; n++) {
    if (pos >= b.length) break;
    const line = readLine(b, pos, MAX_LINE);
    if (line.ending === "none") {
      if (b.length - pos >= MAX_LINE) {
        push(out, "http_header_line_too_long", `${dir} header line at byte ${pos} has no line end within ${MAX_LINE} bytes`, dir, pos);
      }
      break;
    }
    if (line.ending === "lf" && !bareLf) {
      bareLf = true;
      push(out, "http_bare_lf", `${dir} header line at byte ${pos} ends with a bare LF, not CR LF (RFC 9112 §2.2)`, dir, line.end);
    }
    if (line.end === pos) return { end: line.next, complete: true, values, counts };
    if (n === MAX_HEADERS) {
      push(out, "http_too_many_headers", `${dir} sent more than ${MAX_HEADERS} header lines; the rest were not read`, dir, pos);
      return { end: pos, complete: false, values, counts };
    }
    if (b[pos] === 0x20 || b[pos] === 0x09) {
      push(out, "http_obs_fold", `${dir} header line at byte ${pos} continues the previous one (obsolete line folding, RFC 9112 §5.2)`, dir, pos);
      pos = line.next;
      continue;
    }
    let colon = -1;
    for (let i = pos; i < line.end; i++) {
      if (b[i] === 0x3a) {
        colon = i;
        break;
      }
    }
    if (colon <= pos) {
      push(out, "http_header_without_colon", `${dir} header line at byte ${pos} has no field name and colon: "${asciiString(b, pos, line.end, 40)}"`, dir, pos);
      pos = line.next;
      continue;
    }
    if (b[colon - 1] === 0x20 || b[colon - 1] === 0x09) {
      push(out, "http_space_before_colon", `${dir} header "${asciiString(b, pos, colon, 40)}" has whitespace before its colon (RFC 9112 §5.1)`, dir, colon - 1);
    }
    const name = asciiString(b, pos, colon, 64).trim().toLowerCase();
    if (want.includes(name)) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (!values.has(name)) values.set(name, asciiString(b, colon + 1, line.end, MAX_BANNER).trim());
    }
    pos = line.next;
  }
  if (done || b.length - at >= MAX_LINE) {
    push(out, "http_headers_unterminated", `${dir} header block from byte ${at} has no empty line before byte ${pos}`, dir, at);
  }
  return { end: pos, complete: false, values, counts };
}

function analyze(s: StreamSample, out: ConversationFacts): Handoff | null {
  const http: NonNullable<ConversationFacts["http"]> = { method: null, uri: null, host: null, status: null, server: null };
  out.http = http;
  const c = s.client;
  const v = s.server;
  let requestLine: string | null = null;
  let clientBody = -1;
  let serverBody = -1;

  if (c.length > 0) {
    const r = requestLineAt(c);
    const line = readLine(c, 0, MAX_LINE);
    if (typeof r !== "object") {
      push(out, "http_malformed_request_line", `client's first line is not "method SP target SP HTTP/x.y": "${asciiString(c, 0, line.end, 60)}"`, "client", 0);
    } else {
      http.method = asciiString(c, 0, r.methodEnd, MAX_METHOD);
      http.uri = asciiString(c, r.methodEnd + 1, r.targetEnd, MAX_LINE);
      requestLine = line.text.length > MAX_BANNER ? line.text.slice(0, MAX_BANNER) + "…" : line.text;
      if (line.ending === "none") {
        if (s.clientDone) push(out, "http_headers_unterminated", `client request line has no line end within ${c.length} bytes`, "client", 0);
      } else {
        // Anything between "HTTP/d.d" and the line end is not allowed.
        if (line.end !== r.targetEnd + 9) {
          push(out, "http_malformed_request_line", `client request line has ${line.end - r.targetEnd - 9} extra bytes after the version`, "client", r.targetEnd + 9);
        }
        if (line.ending === "lf") push(out, "http_bare_lf", "client request line ends with a bare LF, not CR LF (RFC 9112 §2.2)", "client", line.end);
        const h = readHeaders(c, line.next, s.clientDone, "client", ["host"], out, line.ending === "lf");
        if (h.complete) clientBody = h.end;
        const host = h.values.get("host");
        if (host !== undefined) http.host = host;
        const hosts = h.counts.get("host") ?? 0;
        if (hosts > 1) push(out, "http_multiple_host", `client request has ${hosts} Host header lines (RFC 9112 §3.2: at most one)`, "client", 0);
        const version11 = c[r.targetEnd + 6] === 0x31 && c[r.targetEnd + 8] >= 0x31; // "HTTP/1.1" or later 1.x
        if (h.complete && hosts === 0 && version11) {
          push(out, "http_missing_host", "client HTTP/1.1 request has no Host header (RFC 9112 §3.2)", "client", 0);
        }
      }
      // CONNECT's target is the authority (RFC 9110 §9.3.6); use it when Host is absent.
      if (http.method === "CONNECT" && http.host === null) http.host = http.uri;
    }
  }

  let statusLine: string | null = null;
  if (v.length > 0) {
    let at = 0;
    for (let k = 0; k <= MAX_INTERIM; k++) {
      const st = statusLineAt(v, at);
      if (st !== "match") {
        if (st === "no" || s.serverDone) {
          push(out, "http_malformed_status_line", `server's ${k === 0 ? "first" : "next"} line at byte ${at} is not "HTTP/x.y SP status": "${asciiString(v, at, readLine(v, at, 80).end, 60)}"`, "server", at);
        }
        break;
      }
      const line = readLine(v, at, MAX_LINE);
      const code = (v[at + 9] - 0x30) * 100 + (v[at + 10] - 0x30) * 10 + (v[at + 11] - 0x30);
      http.status = code;
      if (statusLine === null) statusLine = line.text.length > MAX_BANNER ? line.text.slice(0, MAX_BANNER) + "…" : line.text;
      if (line.ending === "none") break;
      if (line.end > at + 12 && v[at + 12] !== 0x20) {
        push(out, "http_malformed_status_line", `server status code at byte ${at + 9} is followed by 0x${v[at + 12].toString(16)} instead of SP`, "server", at + 12);
      }
      if (line.ending === "lf") push(out, "http_bare_lf", "server status line ends with a bare LF, not CR LF (RFC 9112 §2.2)", "server", line.end);
      const h = readHeaders(v, line.next, s.serverDone, "server", ["server"], out, line.ending === "lf");
      const server = h.values.get("server");
      if (server !== undefined && http.server === null) http.server = server;
      if (!h.complete) break;
      // 1xx interim responses (100 Continue, 103 Early Hints) have no body: the final one follows.
      if (code >= 100 && code < 200 && code !== 101) {
        at = h.end;
        if (at >= v.length) break;
        continue;
      }
      serverBody = h.end;
      break;
    }
  }
  out.banner = statusLine ?? requestLine;

  return http.method === "CONNECT" ? connectTunnel(s, out, http, clientBody, serverBody) : null;
}

/**
 * A 2xx to CONNECT turns the connection into a tunnel (RFC 9110 §9.3.6); through a web proxy to
 * HTTPS that tunnel starts with a TLS handshake, which is the real protocol: `protocol` becomes
 * `tls`, `tls` the inner handshake, `http` keeps the CONNECT's facts (docs/detectors/tunnels.md).
 */
function connectTunnel(s: StreamSample, out: ConversationFacts, http: NonNullable<ConversationFacts["http"]>, clientBody: number, serverBody: number): Handoff | null {
  const a = authority(http.uri ?? "");
  const accepted = http.status === null ? null : http.status >= 200 && http.status < 300;
  out.tunnel = { via: "http-connect", target: a.host, targetPort: a.port, accepted };
  if (accepted !== true || clientBody < 0 || serverBody < 0) return null;
  if (!tlsFollows(s.client, s.server, clientBody, serverBody)) return null;
  return { child: "tls", client: s.client, server: s.server, clientStart: clientBody, serverStart: serverBody, then: tlsInside };
}

function tlsInside(found: boolean, out: ConversationFacts): void {
  if (found) out.protocol = "tls";
}

export const httpDetector: Detector = {
  protocol: "http",
  transports: ["tcp"],
  ports: [80, 8080, 8000, 3128],
  byContent: true,
  probe,
  analyze,
};
