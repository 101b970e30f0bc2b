/**
 * TLS (and SSL 2.0/3.0): the detector and the public surface of detect/tls/ (docs/detectors/tls.md).
 *
 * Laid out along Zeek's ssl analyzer: messages.ts (types, constants, GREASE, names: the leaf),
 * hello.ts (ClientHello/ServerHello and extensions), sslv2.ts, records.ts (one side's record
 * layer as a small state machine), certificate.ts (X.509 facts, the analysis-owned cache),
 * handshake.ts (both sides, TlsFacts), probe.ts, fingerprint.ts (JA3/JA3S/JA4), names.ts (IANA
 * tables). Everything is bounds-checked and bounded: bad bytes become named anomalies.
 */
import type { ConversationFacts, Detector, ProbeResult, StreamSample } from "../types.js";
import { analyzeTls } from "./handshake.js";
import { probeTlsClient, probeTlsServer, recordChain, startsWithRecord } from "./probe.js";
import { CT_HANDSHAKE, ENCRYPTED_ALERT, MAX_RECORD_LENGTH, type ParsedClientHello, type ParsedServerHello, alertDescriptionName, cipherName, extensionName, isGrease, isGreaseAlpn, tlsVersionName } from "./messages.js";

export { CertificateCache, certificateFacts, isPublicRootOrganisation, opensslTimeToIso, readChain } from "./certificate.js";
export { ja3, ja3s, ja4, ja4Variants } from "./fingerprint.js";
export { parseClientHello, parseServerHello } from "./hello.js";
export { analyzeTls, clientMaxVersion, emptyTlsFacts, fillHelloFacts, parseTlsHandshake, serverSelectedVersion, type TlsHandshake } from "./handshake.js";
export { alertDescriptionName, cipherName, ENCRYPTED_ALERT, extensionName, isGrease, isGreaseAlpn, MAX_RECORD_LENGTH, tlsVersionName, type ParsedClientHello, type ParsedServerHello } from "./messages.js";
export { findTlsStart, probeTlsClient, probeTlsServer, startsWithRecord } from "./probe.js";
export { truncation, unreadableFacts } from "./records.js";

export const tlsDetector: Detector = {
  protocol: "tls",
  transports: ["tcp"],
  ports: [443, 3542, 3545, 8443, 993, 995, 465, 636, 990, 5061],
  byContent: true,
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
