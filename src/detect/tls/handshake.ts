/**
 * The whole handshake of one conversation, both sides: the server's side first (its version
 * choice decides how the client's is read), the cross-checks between hello and answer, and the
 * summary as TlsFacts the way tshark reports them.
 */
import type { Anomaly, ConversationFacts, Direction, TlsFacts } from "../types.js";
import type { CertificateCache } from "./certificate.js";
import { ja3, ja3s, ja4 } from "./fingerprint.js";
import { walkSide } from "./records.js";
import { clampStart } from "./probe.js";
import type { CertificateFacts, ChainCertificate, TlsTruncation } from "../types.js";
import { type ParsedClientHello, type ParsedServerHello, Sink, cipherName, isGrease, isGreaseAlpn, printable, tlsVersionName } from "./messages.js";

// ---------------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------------

/** A TlsFacts with nothing seen yet. */
export function emptyTlsFacts(): TlsFacts {
  return {
    clientVersionCode: null,
    versionCode: null,
    clientVersion: null,
    version: null,
    sni: null,
    alpn: [],
    alpnSelected: null,
    cipher: null,
    ja3: null,
    ja3s: null,
    ja4: null,
    certificate: null,
    certificateVisible: null,
    chain: [],
    chainsToPublicRoot: null,
    truncated: [],
    helloRetryRequest: false,
    clientHelloSeen: false,
    serverHelloSeen: false,
    alerts: [],
  };
}

/** The highest version a ClientHello offers: supported_versions without GREASE, else legacy_version. */
export function clientMaxVersion(h: ParsedClientHello): number {
  let v = -1;
  for (const x of h.supportedVersions) if (!isGrease(x) && x > v) v = x;
  return v >= 0 ? v : h.legacyVersion;
}

/** The version a ServerHello selects: supported_versions, else its version field. */
export function serverSelectedVersion(h: ParsedServerHello): number {
  return h.supportedVersion ?? h.legacyVersion;
}

function alpnString(p: Uint8Array): string {
  return printable(p, 0, p.length);
}


/** Everything read from one conversation's cleartext handshake, before it is summarised as TlsFacts. */
export interface TlsHandshake {
  /** The first ClientHello, and the second one after a HelloRetryRequest. */
  clientHellos: ParsedClientHello[];
  /** Every ServerHello in order: a HelloRetryRequest, then the real ServerHello (or an SSL 2.0 SERVER-HELLO). */
  serverHellos: ParsedServerHello[];
  /** The leaf of the cleartext Certificate message (or SSL 2.0 SERVER-HELLO). */
  certificate: CertificateFacts | null;
  /** Every certificate of it that parses, leaf first. */
  chain: ChainCertificate[];
  /** Whether that chain leads to a root of Node's store; null when no leaf was read. */
  chainsToPublicRoot: boolean | null;
  /** The server chose TLS 1.3 (its Certificate is encrypted). */
  tls13: boolean;
  /** Hellos or Certificates cut by the end of the captured bytes, client's first. */
  truncated: TlsTruncation[];
  alerts: { from: Direction; level: string; description: string }[];
}

/**
 * Reads the cleartext handshake from both in-order streams (from the given offsets). Problems are
 * pushed to `anomalies` (at most 32). Never throws.
 */
export function parseTlsHandshake(
  client: Uint8Array,
  server: Uint8Array,
  anomalies: Anomaly[],
  clientStart?: number,
  serverStart?: number,
  certificates?: CertificateCache,
): TlsHandshake {
  const hs: TlsHandshake = { clientHellos: [], serverHellos: [], certificate: null, chain: [], chainsToPublicRoot: null, tls13: false, truncated: [], alerts: [] };
  const sink = new Sink(anomalies);
  try {
    const cs = clampStart(clientStart, client.length);
    const ss = clampStart(serverStart, server.length);
    // The server side first: whether it chose TLS 1.3 or sent a HelloRetryRequest decides how the
    // client's ChangeCipherSpec and a second ClientHello are read.
    const srv = walkSide(server, ss, { dir: "server", certificates }, sink);
    const hrr = srv.serverHellos.some((h) => h.helloRetryRequest);
    const cli = walkSide(client, cs, { dir: "client", tls13: srv.tls13, hrr, sslv2Server: srv.sslv2ServerHello, noServerHello: srv.serverHellos.length === 0 }, sink);
    hs.clientHellos = cli.clientHellos;
    hs.serverHellos = srv.serverHellos;
    hs.certificate = srv.certificates?.leaf ?? null;
    hs.chain = srv.certificates?.chain ?? [];
    hs.chainsToPublicRoot = srv.certificates?.chainsToPublicRoot ?? null;
    hs.tls13 = srv.tls13;
    if (cli.truncated !== null) hs.truncated.push(cli.truncated);
    if (srv.truncated !== null) hs.truncated.push(srv.truncated);
    for (const a of cli.alerts) hs.alerts.push({ from: "client", level: a.level, description: a.description });
    for (const a of srv.alerts) hs.alerts.push({ from: "server", level: a.level, description: a.description });

    // Cross-checks between the hello the server answered and its answer.
    const answered = cli.clientHellos[cli.clientHellos.length - 1];
    const last = srv.serverHellos[srv.serverHellos.length - 1];
    if (answered !== undefined && last !== undefined && !answered.sslv2 && !last.sslv2 && !last.helloRetryRequest) {
      const chosen = serverSelectedVersion(last);
      const offered = answered.supportedVersions.length > 0 ? answered.supportedVersions.includes(chosen) : chosen <= answered.legacyVersion;
      if (!offered) {
        sink.add("tls_version_not_offered", `server chose ${tlsVersionName(chosen)}, which the ClientHello did not offer (highest ${tlsVersionName(clientMaxVersion(answered))})`, "server", last.offset);
      }
      if (last.cipher !== null && !answered.ciphers.includes(last.cipher)) {
        sink.add("tls_cipher_not_offered", `server chose cipher ${cipherName(last.cipher)}, which the ClientHello did not offer`, "server", last.offset);
      }
    }
  } catch (e) {
    // Defence in depth: the parsers bounds-check every read, so this is a bug, not bad input.
    sink.add("tls_internal_error", `TLS analysis stopped: ${e instanceof Error ? e.message : String(e)}`, "client", 0);
  }
  return hs;
}

/**
 * Summarises parsed hellos into `tls` as tshark reports them: clientVersion / sni / alpn / ja3 /
 * ja4 from the FIRST ClientHello; version / cipher / alpnSelected / ja3s from the LAST ServerHello
 * (the real one after a HelloRetryRequest). `transport` is JA4's first character: "t" for TLS over
 * TCP, "q" for QUIC. Used by analyzeTls and by the QUIC detector (the hellos from CRYPTO frames).
 */
export function fillHelloFacts(tls: TlsFacts, clientHellos: readonly ParsedClientHello[], serverHellos: readonly ParsedServerHello[], transport: "t" | "q"): void {
  const first = clientHellos[0];
  const last = serverHellos[serverHellos.length - 1];
  tls.clientHelloSeen = first !== undefined;
  tls.serverHelloSeen = last !== undefined;
  tls.helloRetryRequest = serverHellos.some((h) => h.helloRetryRequest);
  if (first !== undefined) {
    tls.clientVersionCode = clientMaxVersion(first);
    tls.clientVersion = tlsVersionName(tls.clientVersionCode);
    tls.sni = first.serverName;
    for (const p of first.alpn) if (!isGreaseAlpn(p)) tls.alpn.push(alpnString(p));
    if (!first.sslv2) {
      // tshark 4.0 computes no JA3 for an SSL 2.0 CLIENT-HELLO, and JA4 is defined on the TLS ClientHello.
      tls.ja3 = ja3(first).hash;
      tls.ja4 = ja4(first, transport);
    }
  }
  if (last !== undefined) {
    tls.versionCode = serverSelectedVersion(last);
    tls.version = tlsVersionName(tls.versionCode);
    if (last.cipher !== null) tls.cipher = cipherName(last.cipher);
    if (last.alpn !== null) tls.alpnSelected = alpnString(last.alpn);
    if (!last.sslv2) tls.ja3s = ja3s(last).hash;
  }
}

/**
 * Parse the TLS handshake in the client's and server's in-order streams from the given offsets;
 * fill out.tls (create it) and push anomalies to out.anomalies. Returns true when a ClientHello or
 * ServerHello was found. Never throws. `certificates` is the analysis's cache (StreamSample.certificates).
 *
 * clientVersion / sni / alpn / ja3 / ja4 come from the FIRST ClientHello; version / cipher /
 * alpnSelected / ja3s from the LAST ServerHello (the real one after a HelloRetryRequest), as
 * tshark reports them.
 */
export function analyzeTls(
  client: Uint8Array,
  server: Uint8Array,
  out: ConversationFacts,
  clientStart?: number,
  serverStart?: number,
  certificates?: CertificateCache,
): boolean {
  const tls = emptyTlsFacts();
  out.tls = tls;
  try {
    const hs = parseTlsHandshake(client, server, out.anomalies, clientStart, serverStart, certificates);
    fillHelloFacts(tls, hs.clientHellos, hs.serverHellos, "t");
    tls.certificate = hs.certificate;
    tls.chain = hs.chain;
    tls.chainsToPublicRoot = hs.chainsToPublicRoot;
    tls.certificateVisible = hs.chain.length > 0 || hs.certificate !== null ? true : hs.tls13 ? false : null;
    tls.truncated = hs.truncated;
    tls.alerts = hs.alerts;
    // A ServerHello cut after its legacy_version still tells an SSL 3.0 – TLS 1.1 choice: only
    // 0x0303 could hide TLS 1.3 behind supported_versions (RFC 8446 §4.2.1).
    const cut = hs.truncated.find((t) => t.from === "server" && t.message === "ServerHello" && t.legacyVersion !== undefined);
    if (tls.version === null && cut && cut.legacyVersion! >= 0x0300 && cut.legacyVersion! < 0x0303) {
      tls.versionCode = cut.legacyVersion!;
      tls.version = tlsVersionName(cut.legacyVersion!);
      tls.serverHelloSeen = true;
    }
  } catch (e) {
    out.anomalies.push({ name: "tls_internal_error", message: `TLS analysis stopped: ${e instanceof Error ? e.message : String(e)}` });
  }
  return tls.clientHelloSeen || tls.serverHelloSeen;
}

