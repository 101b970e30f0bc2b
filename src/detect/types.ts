/**
 * The contract between the conversation table and the protocol detectors.
 *
 * Detectors are declared as data (Suricata's probing parsers, Zeek's signatures): which transport
 * and ports they are usual on, how many bytes they need, a probe that answers match / need more /
 * no match, and an analyzer that fills the conversation's facts. They read bytes only through a
 * StreamSample and never throw: bad bytes become named anomalies (Zeek's "weirds").
 */

import type { CertificateCache } from "./tls/certificate.js";

/** What `protocol` in the report can say. */
export type Protocol =
  | "tls"
  | "quic"
  | "dtls"
  | "vmware-authd"
  | "ssh"
  | "rdp"
  | "http"
  | "ntp"
  | "dns"
  | "nbns"
  | "plaintext"
  | "unknown"
  | "none";

/** A probe's answer (Suricata: ALPROTO found / need more data / ALPROTO_FAILED). */
export type ProbeResult = "match" | "more" | "no";

import type { Direction, StreamSample as FlowSample } from "../flow/index.js";

export type { Datagram, Direction } from "../flow/index.js";

/**
 * What a detector is shown of one conversation: flow's sample (src/flow/sample.ts), plus the
 * analysis's cache of parsed certificates (absent: every certificate is parsed afresh).
 */
export type StreamSample = FlowSample & { certificates?: CertificateCache };

/** Something wrong inside a detected protocol, recorded instead of thrown. */
export interface Anomaly {
  /** Stable snake_case name, e.g. "tls_record_length_exceeds_max", "authd_plaintext_after_banner". */
  name: string;
  /** One sentence for people, naming the numbers (“record length 70000 exceeds 16384+256”). */
  message: string;
  /** Which side sent the bytes, when known. */
  direction?: Direction;
  /** Byte offset within that side's stream where it was found; the flow layer maps it to a frame. */
  offset?: number;
  /** Frame number, when the detector knows it (UDP) or after the flow layer mapped `offset`. */
  frame?: number;
}

/** Subject, issuer and validity of the server's leaf certificate (TLS ≤ 1.2, where it is in clear). */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** ISO 8601 UTC. */
  notBefore: string;
  notAfter: string;
  /** dNSName and iPAddress subjectAltName entries, as written in the certificate. */
  san: string[];
  /** Number of certificates in the chain the server sent. */
  chainLength: number;
}

/**
 * One certificate of the chain the server sent, in the order sent (leaf first), as
 * `node:crypto`'s X509Certificate reads it (docs/detectors/tls.md "Certificate chain").
 */
export interface ChainCertificate {
  subject: string;
  issuer: string;
  /** ISO 8601 UTC. */
  notBefore: string;
  notAfter: string;
  san: string[];
  /** Public key algorithm: "rsa", "ec", "ed25519", "ed448", "dsa", "rsa-pss", … (Node's asymmetricKeyType); null when unknown. */
  keyType: string | null;
  /** RSA/DSA modulus bits, or the EC curve's bits (P-256 → 256); null when unknown. */
  keyBits: number | null;
  /** EC named curve as OpenSSL names it ("prime256v1", "secp384r1"), else null. */
  curve: string | null;
  /** The certificate's signatureAlgorithm (RFC 5280 §4.1.1.2) by OpenSSL's name ("sha256WithRSAEncryption", "ecdsa-with-SHA256"), the dotted OID when unknown. */
  signatureAlgorithm: string | null;
  /** The signature uses SHA-1 (or MD5/MD2): weak (CA/B Forum baseline requirements forbid SHA-1 since 2016). */
  weakSignatureHash: boolean;
  /** Subject equals issuer and the signature verifies with the certificate's own key. */
  selfSigned: boolean;
  /** SHA-256 of the DER in lower-case hex, 64 digits (openssl x509 -fingerprint -sha256 prints the same digits upper-case with colons). */
  sha256: string;
}

/** A hello cut by the end of the captured bytes: what could not be read, and why. */
export interface TlsTruncation {
  from: Direction;
  /** "ClientHello", "ServerHello" or "Certificate". */
  message: string;
  /** Length the message's header declared (bytes after the 4-byte header), null when the header itself was cut. */
  declared: number | null;
  /** Byte offset in that side's stream (TCP) or CRYPTO stream (QUIC) where the captured bytes end. */
  truncatedAt: number;
  /** Why, and which facts are therefore null. */
  reason: string;
  /**
   * A cut ServerHello whose legacy_version was captured (RFC 8446 §4.1.3): below 0x0303 it is the
   * negotiated version (a TLS 1.3 server always writes 0x0303 there), so the version is known.
   */
  legacyVersion?: number;
}

/** TLS facts. Versions are strings as in the report contract: "SSL 3.0", "TLS 1.2", "TLS 1.3 (draft 23)". */
export interface TlsFacts {
  /**
   * The versions as their wire values (0x0301 TLS 1.0 … 0x0304 TLS 1.3, 0x7f17 draft 23, 0x0002
   * SSL 2.0, DTLS's 0xfeff/0xfefd), for comparisons: the strings below are for people.
   */
  clientVersionCode: number | null;
  versionCode: number | null;
  /** Highest version the client offered (supported_versions without GREASE, else the ClientHello version). */
  clientVersion: string | null;
  /** Version the server chose (supported_versions in ServerHello, else its version field). */
  version: string | null;
  sni: string | null;
  /** ALPN protocols the client offered, in order. */
  alpn: string[];
  /** ALPN protocol the server selected, if it said. */
  alpnSelected: string | null;
  /** Negotiated cipher suite by IANA name (hex "0x1301" when the name is unknown). */
  cipher: string | null;
  ja3: string | null;
  ja3s: string | null;
  ja4: string | null;
  certificate: CertificateFacts | null;
  /**
   * true: a cleartext Certificate message was read; false: the server chose TLS 1.3 (or QUIC), so
   * its certificate travels encrypted and cannot be checked from a capture; null: neither is known
   * (no ServerHello, or TLS ≤ 1.2 without a Certificate in the captured bytes — a resumed session,
   * a PSK/anonymous suite, or bytes not captured).
   */
  certificateVisible: boolean | null;
  /** Every certificate the server sent, leaf first (empty when none was visible). */
  chain: ChainCertificate[];
  /**
   * The chain leads to a root of Node's tls.rootCertificates (the Mozilla store): each certificate
   * is issued (signature verified) by the next one sent or by a root. null when no chain was visible.
   */
  chainsToPublicRoot: boolean | null;
  /** Hellos and Certificates cut by the end of the captured bytes (empty when none was). */
  truncated: TlsTruncation[];
  /** The server answered the first ClientHello with a HelloRetryRequest (RFC 8446 §4.1.4). */
  helloRetryRequest: boolean;
  clientHelloSeen: boolean;
  serverHelloSeen: boolean;
  /** Alerts seen in clear, e.g. {from:"server", level:"fatal", description:"handshake_failure"}. */
  alerts: { from: Direction; level: string; description: string }[];
}

/** A QUIC packet the capture cut short (its long header Length runs past the captured datagram). */
export interface QuicTruncation {
  from: Direction;
  frame: number;
  /** Bytes of the packet captured (from its first byte). */
  captured: number;
  /** Bytes its header says it has. */
  declared: number;
}

/** QUIC facts (docs/detectors/quic.md). The TLS handshake read from the Initial packets is in `tls`. */
export interface QuicFacts {
  /** Version of the client's first long header packet: "1", "2" (RFC 9369), "draft-29", Google QUIC "Q046"; hex "0x…" when unknown. */
  version: string | null;
  /** Versions a server's Version Negotiation packet listed (RFC 9000 §17.2.1), else empty. */
  offeredVersions: string[];
  /** The client's first Destination Connection ID in hex: the Initial keys are derived from it (RFC 9001 §5.2). */
  dcid: string | null;
  /** Initial packets opened (AEAD tag verified) from the client and from the server. */
  clientInitials: number;
  serverInitials: number;
  /** Initial packets that did not open: cut, damaged, or sent with keys we cannot derive (the client's first Initial not captured). */
  unopened: number;
  /** The server sent a Retry (RFC 9000 §17.2.5). */
  retry: boolean;
  /** Packets cut by the snap length (or the per-datagram sample cap). */
  truncated: QuicTruncation[];
  /** A CONNECTION_CLOSE in an Initial packet (RFC 9000 §19.19): error code in hex, the TLS alert when it is a CRYPTO_ERROR (0x01XX), the reason phrase. */
  close: { from: Direction; error: string; tlsAlert: string | null; reason: string } | null;
  /** Google QUIC only: the SNI tag of the client's CHLO, which travels in clear (IETF QUIC's server name is tls.sni). */
  sni: string | null;
}

/** RDP over UDP (MS-RDPEUDP) facts from the SYN and SYN+ACK datagrams. */
export interface RdpUdpFacts {
  /** SYN datagram seen from the client / SYN+ACK from the server. */
  syn: boolean;
  synAck: boolean;
  /** RDPUDP_FLAG_SYNLOSSY: the lossy (FEC-only, DTLS) transport instead of the reliable one (TLS). */
  lossy: boolean;
  /** uUdpVer the client offered and the server chose (RDPUDP_SYNDATAEX_PAYLOAD): "1", "2", "3" (RDPEUDP2, 0x0101), hex when unknown; null when absent. */
  clientVersion: string | null;
  serverVersion: string | null;
  /** RDPUDP_CORRELATION_ID_PAYLOAD uCorrelationId in hex (the same value as RDP_NEG_CORRELATION_INFO on TCP), or null. */
  correlationId: string | null;
  /** uUpStreamMtu / uDownStreamMtu of the SYN (1132–1232). */
  mtu: { up: number; down: number } | null;
}

/** A cleartext preamble after which the stream carries TLS (HTTP CONNECT, SOCKS, STARTTLS-likes). */
export interface TunnelFacts {
  /** How: an HTTP CONNECT through a web proxy, SOCKS 4/4a/5, PostgreSQL SSLRequest, LDAP StartTLS, a text STARTTLS (SMTP/IMAP/POP3/FTP AUTH TLS). */
  via: "http-connect" | "socks4" | "socks5" | "postgres-sslrequest" | "ldap-starttls" | "starttls";
  /** The host the tunnel leads to (CONNECT authority host, SOCKS 4a/5 domain or address), or null (STARTTLS-likes: the same server). */
  target: string | null;
  /** The port the tunnel leads to, or null. */
  targetPort: number | null;
  /** Whether the other side accepted (2xx to CONNECT, SOCKS granted, PostgreSQL 'S', LDAP success); null when its answer was not seen. */
  accepted: boolean | null;
}

/** Protocol-specific facts; each detector fills only its own field. */
export interface ConversationFacts {
  /**
   * What the bytes are. When the client's bytes start one protocol and the server answered with
   * bytes of another (a plaintext banner or an HTTP 400 to a ClientHello), this is what the
   * server spoke, and `clientProtocol` what the client's bytes were (registry.ts, "the server's
   * bytes count").
   */
  protocol: Protocol;
  /** What the client's bytes were when the server spoke something else; null when both sides agree or the server sent nothing. */
  clientProtocol: Protocol | null;
  /** A line the server (or, failing that, the client) sent first: authd 220 line, SSH server banner, SMTP greeting… */
  banner: string | null;
  tls: TlsFacts | null;
  ssh: { clientBanner: string | null; serverBanner: string | null; clientSoftware: string | null; serverSoftware: string | null } | null;
  rdp: {
    cookie: string | null;
    /** RDP_NEG_REQ requestedProtocols as names: "rdp", "ssl", "hybrid", "rdstls", "hybrid_ex", … */
    requestedProtocols: string[];
    /** RDP_NEG_RSP selectedProtocol as a name, or null when the server sent none. */
    selectedProtocol: string | null;
    /** RDP_NEG_FAILURE code name, if the server refused. */
    failure: string | null;
    /** RDP over UDP: the RDPEUDP handshake (absent on TCP). */
    udp?: RdpUdpFacts;
  } | null;
  http: { method: string | null; uri: string | null; host: string | null; status: number | null; server: string | null } | null;
  ntp: { version: number; clientMode: number | null; serverMode: number | null; stratum: number | null } | null;
  /** Names asked, answer codes, and the A/AAAA answers (name → address) of the responses. */
  dns: { queries: string[]; rcodes: string[]; answers: { name: string; address: string }[] } | null;
  /** QUIC (absent for other protocols). */
  quic?: QuicFacts;
  /** True when a vmware-authd banner was followed by a TLS handshake. */
  authdTls?: boolean;
  /** TLS after a cleartext preamble: how the stream got there (docs/detectors/tunnels.md); absent when none. */
  tunnel?: TunnelFacts;
  anomalies: Anomaly[];
}

export function emptyFacts(): ConversationFacts {
  return { protocol: "none", clientProtocol: null, banner: null, tls: null, ssh: null, rdp: null, http: null, ntp: null, dns: null, anomalies: [] };
}

/**
 * "TLS from here": a detector hands the rest of the stream to a child, as Zeek's RDP analyzer
 * adds an SSL child. The registry runs the child (registry.ts, CHILDREN) on the bytes named here
 * from the offsets given, then calls `then` with whether the child found its protocol, so the
 * parent can finish its own facts (authdTls, rdp_tls_not_found, protocol tls after a CONNECT).
 */
export interface Handoff {
  /** The child protocol that reads the rest. */
  child: "tls";
  /** The streams the child reads: the sample's own, or ones the parent rebuilt (RDP over UDP's reliable channel). */
  client: Uint8Array;
  server: Uint8Array;
  /** Where the child starts in each (the end of the parent's preamble). */
  clientStart: number;
  serverStart: number;
  /** Called after the child ran: `found` is true when it found its protocol (a ClientHello or ServerHello). */
  then?(found: boolean, out: ConversationFacts): void;
}

/** A detector, declared as data. */
export interface Detector {
  protocol: Protocol;
  transports: readonly ("tcp" | "udp")[];
  /** Ports it is usual on (server side). Used for ordering and as a hint, never as the verdict. */
  ports: readonly number[];
  /**
   * True when the probe keys on content strong enough to trust on any port (a TLS record header
   * with a ClientHello, "SSH-2.0-", a TPKT/X.224 CR). False for weak shapes (a 48-byte NTP packet),
   * which are only tried on their usual ports or after every strong probe said no.
   */
  byContent: boolean;
  probe(s: StreamSample): ProbeResult;
  /**
   * Fill `out` (protocol is set by the caller) with this detector's own facts. Never throws; bad
   * bytes go to out.anomalies. Returns a Handoff when the rest of the stream is another
   * protocol's (TLS after a preamble), else null or nothing.
   */
  analyze(s: StreamSample, out: ConversationFacts): Handoff | null | void;
}
