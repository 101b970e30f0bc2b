/**
 * VMware authd (vmware-authd, TCP 902 on ESXi): the server speaks first with one line
 *
 *   220 VMware Authentication Daemon Version 1.10: SSL Required, ServerDaemonProtocol:SOAP, …\r\n
 *
 * and TLS starts at once on the same connection: the client sends a ClientHello right after the
 * line, with no STARTTLS-like command (NFC / VixDiskLib data then runs inside TLS). The line is
 * strong content, so this detector is tried on every port, and it runs before the TLS detector:
 * the client's bytes alone (a ClientHello at offset 0) would otherwise make the conversation "tls".
 */
import { MAX_BANNER, asciiString, indexOfAscii, isMostlyText, prefixState, readLine } from "./text.js";
import { probeTlsClient, probeTlsServer, startsWithRecord } from "./tls/index.js";
import type { ConversationFacts, Detector, Handoff, StreamSample } from "./types.js";

/** What every authd greeting starts with (the version after it varies: 1.00, 1.10, …). */
export const AUTHD_SIGNATURE = "220 VMware Authentication Daemon";
/**
 * The shortest start of the signature taken for authd when the capture lost the rest of the line
 * (a snap length of 96 keeps 30 bytes of TCP payload over IPv4, 10 over IPv6): "220 VMware".
 */
const MIN_CUT_SIGNATURE = 10;
/** Longest greeting line we look for an end in; real ones are about 150 bytes. */
const MAX_AUTHD_LINE = 1024;

function probe(s: StreamSample) {
  const st = prefixState(s.server, 0, AUTHD_SIGNATURE);
  if (st === "match") return "match";
  if (st === "no") return "no";
  // The server's bytes stop at a gap (snap length, a lost segment) inside the signature: what was
  // captured is authd's, and the rest of the line is not in the capture; judged as a cut authd.
  if (s.serverGap && s.server.length >= MIN_CUT_SIGNATURE) return "match";
  // The server has sent nothing yet or only part of the signature.
  return s.serverDone ? "no" : "more";
}

function analyze(s: StreamSample, out: ConversationFacts): Handoff {
  const server = s.server;
  const client = s.client;
  const line = readLine(server, 0, MAX_AUTHD_LINE);
  out.banner = line.text.length > MAX_BANNER ? line.text.slice(0, MAX_BANNER) + "…" : line.text;

  if (line.ending === "none") {
    if (server.length >= MAX_AUTHD_LINE) {
      out.anomalies.push({
        name: "authd_banner_too_long",
        message: `authd greeting has no line end within ${MAX_AUTHD_LINE} bytes`,
        direction: "server",
        offset: 0,
      });
    } else if (s.serverDone && !s.serverGap) {
      // (A line that stops at a gap was cut by the capture, not left unterminated by the server.)
      out.anomalies.push({
        name: "authd_banner_unterminated",
        message: `authd greeting of ${server.length} bytes ends without CR LF`,
        direction: "server",
        offset: 0,
      });
    }
  } else if (line.ending === "lf") {
    out.anomalies.push({
      name: "authd_banner_missing_cr",
      message: `authd greeting ends with a bare LF at byte ${line.end} instead of CR LF`,
      direction: "server",
      offset: line.end,
    });
  }
  // "SSL Required" is what makes the client start TLS; a daemon without it accepts USER/PASS in clear.
  if (line.ending !== "none" && indexOfAscii(server, "SSL Required", 0, line.end) < 0) {
    out.anomalies.push({
      name: "authd_ssl_not_required",
      message: "authd greeting does not say \"SSL Required\": the daemon accepts a session without TLS",
      direction: "server",
      offset: 0,
    });
  }

  // TLS starts right after the greeting on the server side and at byte 0 on the client side.
  const serverStart = line.ending === "none" ? server.length : line.next;
  return {
    child: "tls",
    client,
    server,
    clientStart: 0,
    serverStart,
    then(found, facts) {
      facts.authdTls = found;
      if (client.length > 0 && probeTlsClient(client, 0) === "no" && !startsWithRecord(client)) notTls(facts, client, 0, "client");
      if (server.length > serverStart && probeTlsServer(server, serverStart) === "no" && !startsWithRecord(server.subarray(serverStart))) {
        notTls(facts, server, serverStart, "server");
      }
    },
  };
}

/**
 * Bytes after the greeting that are not TLS: `authd_plaintext_after_banner` when they are text
 * (positive evidence of a session in clear, e.g. `USER root`), `authd_not_tls_after_banner` when
 * they are binary we do not recognise — never called plaintext without text (issue 18).
 */
function notTls(out: ConversationFacts, b: Uint8Array, from: number, dir: "client" | "server"): void {
  const text = isMostlyText(b, from);
  const who = dir === "client" ? "client sent" : "server sent";
  const where = dir === "client" ? "" : ` (from byte ${from})`;
  out.anomalies.push({
    name: text ? "authd_plaintext_after_banner" : "authd_not_tls_after_banner",
    message: `${who} ${b.length - from} bytes after ${dir === "client" ? "the authd greeting" : "its greeting"}${where} that are not TLS${text ? "" : " (binary, not text)"}: "${asciiString(b, from, b.length, 40)}"`,
    direction: dir,
    offset: from,
  });
}

export const vmwareAuthdDetector: Detector = {
  protocol: "vmware-authd",
  transports: ["tcp"],
  ports: [902],
  byContent: true,
  probe,
  analyze,
};
