/**
 * The fallback detectors, tried only after every protocol probe said no: `plaintext` (the first
 * bytes are mostly printable text), `unknown` (binary we do not recognise) and `none` (no payload
 * either way). The byte and text helpers they use are in text.ts.
 *
 * Like dpkt's fallback to raw bytes, an unknown payload is a result, not a failure.
 */
import { findTlsStart } from "./tls/index.js";
import { asciiString, firstBytes, firstTextLine, hasNoPayload, isMostlyText, MAX_BANNER } from "./text.js";
import type { ConversationFacts, Detector, StreamSample } from "./types.js";

/** The server's first text line, else the client's (for the `banner` field). */
function textBanner(s: StreamSample): string | null {
  if (s.transport === "udp") {
    let clientLine: string | null = null;
    for (const d of s.datagrams) {
      const l = d.data.length > 0 ? firstTextLine(d.data) : null;
      if (l === null) continue;
      if (!d.fromClient) return l;
      clientLine ??= l;
    }
    return clientLine;
  }
  return firstTextLine(s.server) ?? firstTextLine(s.client);
}

// ---- the fallback detectors ----

/** `plaintext`: the first speaker's first bytes are text (isMostlyText: the window or the first line). */
export const plaintextDetector: Detector = {
  protocol: "plaintext",
  transports: ["tcp", "udp"],
  ports: [],
  byContent: false,
  probe(s: StreamSample) {
    const f = firstBytes(s);
    return f !== null && isMostlyText(f.bytes) ? "match" : "no";
  },
  analyze(s: StreamSample, out: ConversationFacts) {
    out.banner = textBanner(s);
    // A text protocol that upgrades to TLS on the same connection (SMTP/IMAP/IRC STARTTLS): the
    // conversation stays `plaintext` — it began in clear — but the TLS that follows is reported.
    if (s.transport !== "tcp") return null;
    const c = findTlsStart(s.client, 0, "client");
    if (c <= 0) return null;
    const sv = findTlsStart(s.server, 0, "server");
    return {
      child: "tls",
      client: s.client,
      server: s.server,
      clientStart: c,
      serverStart: sv > 0 ? sv : s.server.length,
      then(found, facts) {
        if (!found) return;
        facts.tunnel = { via: "starttls", target: null, targetPort: null, accepted: sv > 0 ? true : refusedStarttls(s.server) ? false : null };
        facts.anomalies.push({
          name: "starttls",
          message: `a TLS handshake starts at byte ${c} of the client's stream, after text in clear (STARTTLS or similar)`,
          direction: "client",
          offset: c,
        });
      },
    };
  },
};

/**
 * The server's last text line refuses (it sent no TLS): SMTP/FTP 4xx or 5xx (RFC 3207 §4: 454 "TLS
 * not available"; RFC 4217 §4: 431/534), POP3 "-ERR" (RFC 2595 §4), IMAP "tag NO"/"tag BAD" (RFC 9051 §6.2.1).
 */
function refusedStarttls(server: Uint8Array): boolean {
  let end = server.length;
  while (end > 0 && (server[end - 1] === 0x0a || server[end - 1] === 0x0d)) end--;
  let start = end;
  while (start > 0 && server[start - 1] !== 0x0a && end - start < MAX_BANNER) start--;
  const line = asciiString(server, start, end, MAX_BANNER);
  return /^[45]\d\d(?:[ -]|$)/.test(line) || line.startsWith("-ERR") || /^\S+ (?:NO|BAD)(?: |$)/.test(line);
}

/** `unknown`: payload was seen but no detector recognised it and it is not text. */
export const unknownDetector: Detector = {
  protocol: "unknown",
  transports: ["tcp", "udp"],
  ports: [],
  byContent: false,
  probe(s: StreamSample) {
    return hasNoPayload(s) ? "no" : "match";
  },
  analyze() {
    // Nothing to say about bytes we do not recognise; the banner stays null.
  },
};

/** `none`: no payload byte either way (handshake only, refused, unanswered). */
export const noneDetector: Detector = {
  protocol: "none",
  transports: ["tcp", "udp"],
  ports: [],
  byContent: false,
  probe(s: StreamSample) {
    return hasNoPayload(s) ? "match" : "no";
  },
  analyze() {
    // No bytes, no facts.
  },
};

/** The fallbacks in the order the registry tries them. */
export const fallbackDetectors: readonly Detector[] = [noneDetector, plaintextDetector, unknownDetector];
