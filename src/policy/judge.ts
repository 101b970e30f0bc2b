/**
 * What one matrix row says of one conversation (docs/findings.md, "What each row checks"): a
 * finding, conforming, or "not verifiable" with the reason — from the bytes both sides sent, and
 * never from what the capture did not show.
 */
import { CERTIFICATE_CODES, judgeCertificate } from "./certificate.js";
import type { Expectation, MatrixRow, TlsVersionName } from "./matrix.js";
import { type Namer, PLAIN_NAMER } from "./namer.js";
import { refusalText, webProxyPath } from "./tunnel.js";
import type { ConnectionView } from "./view.js";

export const FINDING_CODES = [
  "unexpected-port",
  "plaintext-where-tls-required",
  "protocol-mismatch",
  "weak-tls",
  "tls-not-established",
  "blocked",
  "refused",
  "wrong-path",
  "wrong-direction",
  "missing-expected",
  "ambiguous-role",
  ...CERTIFICATE_CODES,
  "via-web-proxy",
  "name-not-resolved",
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];
export type Severity = "error" | "warning" | "info";
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** Why a conversation could not be judged (conversations[].limits, docs/findings.md). */
export type Limit = "start-missing" | "one-direction" | "snaplen" | "end-of-capture";

export type Judgement =
  | { kind: "ok" }
  | { kind: "finding"; code: FindingCode; severity: Severity; what: string; fix: string | null }
  | { kind: "not-verifiable"; limits: Limit[]; what: string };

/** RFC 6298 §2.1: the initial retransmission timeout. An attempt younger than this at the end of the capture proves nothing. */
export const INITIAL_RTO_SECONDS = 1;

/**
 * A TLS version's wire value as a rank, so that "below the row's minimum" is a comparison of
 * numbers (RFC 8446 Appendix D): SSL 2.0 (0x0002) < SSL 3.0 (0x0300) < … < TLS 1.3 (0x0304,
 * drafts 0x7fxx); DTLS 1.0 (0xfeff) is TLS 1.1's, DTLS 1.2 (0xfefd) TLS 1.2's, DTLS 1.3 (0xfefc) 1.3's.
 */
export function tlsRank(code: number | null): number {
  if (code === null) return -1;
  if (code === 0x0002) return 0;
  if (code >= 0x0300 && code <= 0x0304) return code - 0x0300 + 1;
  if (code >> 8 === 0x7f) return 5;
  return ({ 0xfeff: 3, 0xfefd: 4, 0xfefc: 5 } as Record<number, number>)[code] ?? -1;
}

/** The matrix's minimum versions (its own names, docs/matrix-format.md) as wire values. */
const MIN_TLS_CODES: Record<TlsVersionName, number> = { "SSL 3.0": 0x0300, "TLS 1.0": 0x0301, "TLS 1.1": 0x0302, "TLS 1.2": 0x0303, "TLS 1.3": 0x0304 };

const ICMP4_CODES: Record<number, string> = {
  0: "network unreachable", 1: "host unreachable", 3: "port unreachable", 9: "network administratively prohibited",
  10: "host administratively prohibited", 13: "communication administratively prohibited",
};
const ICMP6_CODES: Record<number, string> = {
  0: "no route to destination", 1: "communication administratively prohibited", 3: "address unreachable", 4: "port unreachable",
  5: "source address failed ingress/egress policy", 6: "reject route to destination",
};

export function icmpText(c: ConnectionView): string {
  const name = (c.ipVersion === 4 ? ICMP4_CODES : ICMP6_CODES)[c.icmpCode] ?? `code ${c.icmpCode}`;
  return `ICMP${c.ipVersion === 6 ? "v6" : ""} ${name}`;
}

export function isRefused(c: ConnectionView): boolean {
  return (c.transport === "tcp" && c.state === "REJ") || c.unreachable;
}

export function isUnanswered(c: ConnectionView): boolean {
  // A client that went on after its SYN (ACKs, data) had its SYN-ACK: the capture missed the
  // server's side (one-direction), it did not see a drop.
  if (c.transport === "tcp") return c.state === "S0" && !c.serverUnseen;
  return c.packetsServer === 0 && !c.unreachable;
}

/** One attempt only (one SYN, one datagram), sent less than an RTO before the capture ended. */
export function cutByEnd(c: ConnectionView): boolean {
  return c.aggregate === null && c.packetsClient === 1 && c.captureEnd - c.start < INITIAL_RTO_SECONDS;
}

/**
 * Still open (no FIN or RST either way) and its last packet less than an RTO before the capture
 * ended: what the other side would have sent next may simply be after the capture stopped.
 */
export function openAtEnd(c: ConnectionView): boolean {
  return c.aggregate === null && !/[FR]/i.test(c.history) && c.captureEnd - c.end < INITIAL_RTO_SECONDS;
}

export interface JudgeContext {
  /** Most of the capture shows one direction only: an unanswered datagram proves nothing. */
  oneDirection: boolean;
  /** How sentences name addresses and wire strings (PLAIN_NAMER unless given; docs/redaction.md). */
  namer?: Namer;
}

const nv = (limits: Limit[], what: string): Judgement => ({ kind: "not-verifiable", limits, what });
const ok: Judgement = { kind: "ok" };
const err = (code: FindingCode, what: string, fix: string | null): Judgement => ({ kind: "finding", code, severity: "error", what, fix });

/** The limits that make a conversation's content unjudgeable, in the order they are named. */
function contentLimits(c: ConnectionView): Limit[] {
  const out: Limit[] = [];
  // A hole in the kept bytes of a snap-length-cut capture is the snap length's, not a missed start;
  // and a side that is not in the capture at all is "one-direction", not a missed start.
  const startLost = (c.clientStartMissing && !c.clientUnseen) || (c.serverStartMissing && !c.serverUnseen);
  if (startLost || ((c.clientGap || c.serverGap) && c.truncatedPackets === 0)) out.push("start-missing");
  if (c.serverUnseen || c.clientUnseen) out.push("one-direction");
  if (c.truncatedPackets > 0) out.push("snaplen");
  return out;
}

function describeProtocol(c: ConnectionView, n: Namer): string {
  const f = c.facts;
  switch (c.protocol) {
    case "http":
      return f?.http?.method
        ? `HTTP (${n.wire("method", f.http.method)}${f.http.uri ? ` ${n.wire("uri", f.http.uri)}` : ""}${f.http.host ? `, Host ${n.wire("host", f.http.host)}` : ""})`
        : f?.http?.status ? `HTTP (status ${f.http.status})` : "HTTP";
    case "plaintext":
      return f?.banner ? `plain text ("${n.wire("banner", f.banner)}")` : "plain text";
    case "unknown":
      return "unrecognised binary data";
    case "vmware-authd":
      return "the VMware authd banner";
    default:
      return c.protocol.toUpperCase();
  }
}

/** Text the server sent in answer to a ClientHello (the detectors' `clientProtocol` rule). */
function answeredInClear(c: ConnectionView, n: Namer): string | null {
  if (c.facts?.clientProtocol !== "tls") return null;
  return describeProtocol(c, n);
}

function tlsChecks(c: ConnectionView, row: MatrixRow, limits: Limit[], n: Namer): Judgement {
  const tls = c.tls;
  const server = n.address(c.server.ip);
  const sni = tls?.sni ? ` for ${n.wire("name", tls.sni)}` : "";
  if (tls === null) return ok;
  const alert = tls.alerts.find((a) => a.from === "server");
  const min = row.minTls;
  // A version below the minimum is a finding whatever else the capture lost.
  if (min !== null && tls.versionCode !== null && tlsRank(tls.versionCode) < tlsRank(MIN_TLS_CODES[min])) {
    return err("weak-tls",
      `negotiated ${tls.version}${tls.cipher ? ` with ${tls.cipher}` : ""}; the row requires ${min} or newer${tls.clientVersion ? ` (the client offered up to ${tls.clientVersion})` : ""}.`,
      tlsRank(tls.clientVersionCode) >= tlsRank(MIN_TLS_CODES[min]) ? `Enable ${min} or newer on ${server} port ${c.server.port}.` : `Enable ${min} or newer on both ${n.address(c.client.ip)} and ${server}.`);
  }
  if (tls.clientHelloSeen && !tls.serverHelloSeen) {
    if (alert) {
      return err("tls-not-established", `the client sent a TLS ClientHello${sni} and the server answered with a ${alert.level} ${alert.description} alert.`,
        `Check the TLS settings of ${server} on port ${c.server.port} (versions, ciphers, certificate) against what the client offers.`);
    }
    if (limits.length) return nv(limits, "the server's answer to the ClientHello is not in the capture");
    // The server may have spoken before (an authd banner, a web proxy's 200): what counts is
    // whether its answer to the ClientHello could still be after the end of the capture.
    if ((c.serverPayload === 0 && c.captureEnd - c.end < INITIAL_RTO_SECONDS) || openAtEnd(c)) {
      return nv(["end-of-capture"], "the capture ended before the server could answer the ClientHello");
    }
    return err("tls-not-established", `the client sent a TLS ClientHello${sni} but no ServerHello came back.`,
      `Check that ${server} serves TLS on port ${c.server.port}, and for a TLS-inspecting device between the hosts.`);
  }
  if (min !== null && tls.versionCode === null && !tls.serverHelloSeen) {
    // TLS records without a handshake: the capture began inside the session, or cut it.
    const l: Limit[] = limits.length ? limits : c.truncatedPackets > 0 ? ["snaplen"] : ["start-missing"];
    return nv(l, "TLS was seen, but not the handshake that says its version");
  }
  const cert = judgeCertificate(tls, row.certificate, c.start, tls.sni, n);
  if (cert) return { kind: "finding", ...cert };
  return ok;
}

/** How `row` judges `c` (the order of docs/findings.md, "What each row checks"). */
export function judgeRow(c: ConnectionView, row: MatrixRow, ctx: JudgeContext): Judgement {
  if (isRefused(c)) return { kind: "finding", code: "refused", severity: "error", what: "", fix: null };
  if (isUnanswered(c)) {
    if (c.transport === "udp" && ctx.oneDirection) return nv(["one-direction"], "the capture shows one direction only");
    if (cutByEnd(c)) return nv(["end-of-capture"], "its only attempt came less than 1 s before the end of the capture");
    return { kind: "finding", code: "blocked", severity: "error", what: "", fix: null };
  }
  const n = ctx.namer ?? PLAIN_NAMER;
  // Through a web proxy: a CONNECT (or SOCKS request) it refused is the cloud row's path blocked.
  const path = webProxyPath(c);
  // A tunnel request the capture ends on: the web proxy's answer (or the TLS after its 200) may be after it.
  if (path && path.accepted !== false && c.tls === null && openAtEnd(c)) {
    return nv(["end-of-capture"], `the capture ended before ${path.accepted === null ? "the web proxy answered" : "any TLS went through the tunnel"}`);
  }
  if (path && (path.accepted === false || (path.accepted === null && c.tls === null))) {
    return err("blocked", refusalText(c, path, n),
      `Allow ${n.wire("host", path.target)}:${path.targetPort} for ${n.address(c.client.ip)} on the web proxy ${n.address(c.server.ip)} (its access rules and the ports it lets CONNECT reach).`);
  }
  const limits = contentLimits(c);
  if (c.serverUnseen) return nv(limits, "the server's side of the conversation is not in the capture");
  return judgeContent(c, row, row.expect, limits, n);
}

function judgeContent(c: ConnectionView, row: MatrixRow, expect: Expectation, limits: Limit[], n: Namer): Judgement {
  const p = c.protocol;
  const clear = answeredInClear(c, n);
  const server = n.address(c.server.ip);
  const mismatch = (fix?: string) =>
    err("protocol-mismatch", `carried ${describeProtocol(c, n)}; the row expects ${expectText(expect)}.`, fix ?? `Find out what answers on ${c.transport.toUpperCase()} ${c.server.port} at ${server}: it is not the service the row expects.`);
  const plaintext = (what: string) =>
    err("plaintext-where-tls-required", `${what}; the row requires TLS.`, `Make ${server} serve TLS on port ${c.server.port} (or find what answers there in clear).`);
  const unjudgedBinary = () => (limits.length ? nv(limits, "unrecognised bytes, and part of the conversation is not in the capture") : mismatch());

  switch (expect) {
    case "tls":
      if (p === "tls") return tlsChecks(c, row, limits, n);
      if (clear !== null && (p === "http" || p === "plaintext")) return plaintext(`the client sent a TLS ClientHello and the server answered in clear with ${clear}`);
      if (p === "http" || p === "plaintext") return plaintext(`carried ${describeProtocol(c, n)}`);
      if (p === "unknown") return unjudgedBinary();
      if (p === "none") return ok;
      return mismatch();
    case "vmware-authd":
      if (p === "vmware-authd") {
        if (c.facts?.anomalies.some((a) => a.name === "authd_plaintext_after_banner")) return plaintext("the session after the authd banner went on in plain text");
        if (c.tls !== null) return tlsChecks(c, row, limits, n);
        if (c.clientPayload === 0) {
          if (limits.length) return nv(limits, "what followed the authd banner is not in the capture");
          if (openAtEnd(c)) return nv(["end-of-capture"], "the capture ended right after the authd banner");
          return err("tls-not-established", "the ESXi host sent its authd banner, but no TLS handshake followed.", `Check the proxy's side of TCP ${c.server.port}: it connected and read the banner but did not start TLS.`);
        }
        return ok;
      }
      if (p === "tls") {
        // The capture may have begun after the banner; with the start seen, TLS first is not authd.
        if (c.startMissing || c.serverGap) return tlsChecks(c, row, limits, n);
        return err("protocol-mismatch", `TLS from the first byte, without the VMware authd banner ("220 VMware Authentication Daemon …") that ESXi sends first; the row expects ${expectText(expect)}.`,
          `Find out what listens on TCP ${c.server.port} at ${server}: ESXi's authd sends its banner before TLS.`);
      }
      if (p === "http" || p === "plaintext") return plaintext(`carried ${describeProtocol(c, n)}`);
      if (p === "unknown") return unjudgedBinary();
      if (p === "none") return ok;
      return mismatch();
    case "nfs":
      return p === "none" || p === "unknown" ? ok : mismatch();
    case "rdp":
      // RDP's enhanced security runs TLS right after the X.224 exchange (MS-RDPBCGR §5.4.5): with
      // the start missed, the TLS is the session's and is judged as TLS, as after the authd banner.
      if (p === "tls" && (c.startMissing || c.clientGap || c.serverGap)) return tlsChecks(c, row, limits, n);
      if (p === "none" || p === "rdp") return ok;
      if (p === "unknown") return unjudgedBinary();
      return mismatch();
    case "any":
      return ok;
    default:
      if (p === "none" || p === expect) return ok;
      if (p === "unknown") return unjudgedBinary();
      return mismatch();
  }
}

function expectText(e: Expectation): string {
  return e === "vmware-authd" ? "the VMware authd banner, then TLS" : e === "tls" ? "TLS" : e.toUpperCase();
}
